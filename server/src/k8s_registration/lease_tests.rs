#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tessera_proto::clock::{TokioClock, from_unix_seconds};

use super::*;

/// An in-memory Lease with resourceVersion compare-and-swap.
#[derive(Debug, Default)]
struct FakeLease {
    state: Mutex<Option<(LeaseRecord, u64)>>,
    down: std::sync::atomic::AtomicBool,
}

impl LeaseApi for Arc<FakeLease> {
    async fn get(&self) -> Result<Option<Versioned>, LeaseError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(LeaseError::Api("down".into()));
        }
        Ok(self.state.lock().unwrap().as_ref().map(|(r, v)| Versioned {
            record: r.clone(),
            resource_version: v.to_string(),
        }))
    }
    async fn create(&self, record: &LeaseRecord) -> Result<String, LeaseError> {
        let mut s = self.state.lock().unwrap();
        if s.is_some() {
            return Err(LeaseError::Conflict);
        }
        *s = Some((record.clone(), 1));
        Ok("1".into())
    }
    async fn replace(&self, record: &LeaseRecord, rv: &str) -> Result<String, LeaseError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(LeaseError::Api("down".into()));
        }
        let mut s = self.state.lock().unwrap();
        match s.as_mut() {
            Some((r, v)) if v.to_string() == rv => {
                *r = record.clone();
                *v += 1;
                Ok(v.to_string())
            }
            _ => Err(LeaseError::Conflict),
        }
    }
}

fn config(id: &str) -> ElectionConfig {
    ElectionConfig {
        identity: id.into(),
        lease_duration: Duration::from_secs(15),
        renew_interval: Duration::from_secs(5),
    }
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::starting_at(from_unix_seconds(1_700_000_000)))
}

fn holder(lease: &FakeLease) -> String {
    lease
        .state
        .lock()
        .unwrap()
        .as_ref()
        .map(|(r, _)| r.holder.clone())
        .unwrap_or_default()
}

#[test]
fn may_take_rules() {
    let now = from_unix_seconds(1000);
    assert!(may_take(None, "a", now));
    let mut lease = LeaseRecord {
        holder: "b".into(),
        duration: Duration::from_secs(15),
        renewed: Some(from_unix_seconds(990)),
        ..LeaseRecord::default()
    };
    assert!(!may_take(Some(&lease), "a", now), "held and fresh");
    assert!(may_take(Some(&lease), "b", now), "our own");
    lease.renewed = Some(from_unix_seconds(985));
    assert!(
        may_take(Some(&lease), "a", now),
        "expired at renew + duration"
    );
    lease.renewed = Some(from_unix_seconds(999));
    lease.holder.clear();
    assert!(may_take(Some(&lease), "a", now), "released");
}

#[tokio::test(start_paused = true)]
async fn one_leader_at_a_time_and_takeover_after_release() {
    let lease = Arc::new(FakeLease::default());
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let mut stops = Vec::new();
    let mut handles = Vec::new();
    for id in ["a", "b"] {
        let stop = CancellationToken::new();
        stops.push(stop.clone());
        let elector = Elector::new(lease.clone(), config(id), clock());
        let (running, max_running) = (running.clone(), max_running.clone());
        handles.push(tokio::spawn(elector.run(stop, move |token| {
            let (running, max_running) = (running.clone(), max_running.clone());
            async move {
                let n = running.fetch_add(1, Ordering::SeqCst) + 1;
                max_running.fetch_max(n, Ordering::SeqCst);
                token.cancelled().await;
                running.fetch_sub(1, Ordering::SeqCst);
            }
        })));
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(running.load(Ordering::SeqCst), 1);
    let first = holder(&lease);
    assert!(first == "a" || first == "b");
    // The leader shuts down: it releases, the other takes over within a renew interval.
    let index = usize::from(first == "b");
    stops[index].cancel();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(holder(&lease), if first == "a" { "b" } else { "a" });
    assert_eq!(running.load(Ordering::SeqCst), 1);
    assert_eq!(max_running.load(Ordering::SeqCst), 1, "never two leaders");
    stops[1 - index].cancel();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(holder(&lease), "", "released on shutdown");
}

#[tokio::test(start_paused = true)]
async fn leader_steps_down_before_its_lease_expires_when_it_cannot_renew() {
    let lease = Arc::new(FakeLease::default());
    let leading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = CancellationToken::new();
    let flag = leading.clone();
    let handle = tokio::spawn(Elector::new(lease.clone(), config("a"), clock()).run(
        stop.clone(),
        move |token| {
            let flag = flag.clone();
            async move {
                flag.store(true, Ordering::SeqCst);
                token.cancelled().await;
                flag.store(false, Ordering::SeqCst);
            }
        },
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(leading.load(Ordering::SeqCst));
    lease.down.store(true, Ordering::SeqCst);
    // Renewals fail from t=5s; by lease_duration - renew_interval (10 s) after the last
    // renewal the leader has stopped: before another replica could take the Lease (15 s).
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(!leading.load(Ordering::SeqCst));
    stop.cancel();
    handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_expired_lease_of_a_dead_leader_is_taken_over() {
    let lease = Arc::new(FakeLease::default());
    *lease.state.lock().unwrap() = Some((
        LeaseRecord {
            holder: "dead".into(),
            duration: Duration::from_secs(15),
            renewed: Some(from_unix_seconds(1_700_000_000)),
            ..LeaseRecord::default()
        },
        7,
    ));
    let elector = Elector::new(lease.clone(), config("b"), clock());
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    tokio::time::advance(Duration::from_secs(15)).await;
    assert!(elector.try_acquire_or_renew().await.unwrap());
    let (record, _) = lease.state.lock().unwrap().clone().unwrap();
    assert_eq!(record.holder, "b");
    assert_eq!(record.transitions, 1);
}
