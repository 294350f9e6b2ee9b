//! Rotation happens at the right instants, driven by paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_proto::clock::{Clock, TokioClock};
use tokio_util::sync::CancellationToken;

use super::{HOUR, memory_ca, t0};
use crate::ca::{Kind, Rotator, SlotState};

type Slots = Vec<(String, SlotState)>;
type Event = (Duration, Slots, u64);

fn x509_slots(snap: &crate::ca::CaSnapshot) -> Slots {
    snap.authorities()
        .iter()
        .filter(|a| a.kind == Kind::X509)
        .map(|a| (a.id.clone(), a.state))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn prepare_activate_and_retire_happen_at_the_right_instants() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let first = x509_slots(&ca.snapshot());
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, SlotState::Active);
    let a = first[0].0.clone();
    let seq0 = ca.snapshot().bundle().sequence;

    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let mut rx = ca.subscribe();
    let recorder = {
        let events = events.clone();
        let clock = clock.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let snap = rx.borrow_and_update().clone();
                let at = clock.now().duration_since(t0()).unwrap();
                events
                    .lock()
                    .unwrap()
                    .push((at, x509_slots(&snap), snap.bundle().sequence));
            }
        })
    };
    let shutdown = CancellationToken::new();
    let rotator = tokio::spawn(
        Rotator::new(ca.clone(), clock.clone(), Duration::from_secs(10)).run(shutdown.clone()),
    );

    tokio::time::sleep(33 * HOUR).await;
    shutdown.cancel();
    rotator.await.unwrap().unwrap();
    drop(ca);
    recorder.abort();

    let events = events.lock().unwrap().clone();
    let when = |pred: &dyn Fn(&Slots) -> bool| {
        events
            .iter()
            .find(|(_, s, _)| pred(s))
            .map(|(t, _, _)| *t)
            .unwrap()
    };
    // B is prepared when A has half its life left.
    let prepared_at = when(&|s| s.iter().any(|(_, st)| *st == SlotState::Prepared));
    assert_eq!(prepared_at, 12 * HOUR);
    // B takes over when A has a sixth left; A stays published as OLD.
    let activated_at = when(&|s| {
        s.iter()
            .any(|(id, st)| *id != a && *st == SlotState::Active)
    });
    assert_eq!(activated_at, 20 * HOUR);
    let at_activation = &events
        .iter()
        .find(|(t, _, _)| *t == activated_at)
        .unwrap()
        .1;
    assert!(at_activation.contains(&(a.clone(), SlotState::Old)));
    // A leaves when it expires; C is prepared at B's half-life (the same instant).
    let retired_at = when(&|s| !s.iter().any(|(id, _)| *id == a));
    assert_eq!(retired_at, 24 * HOUR);
    // C activates at B's sixth.
    let b = at_activation
        .iter()
        .find(|(_, st)| *st == SlotState::Active)
        .unwrap()
        .0
        .clone();
    let c_active = when(&|s| {
        s.iter()
            .any(|(id, st)| *id != a && *id != b && *st == SlotState::Active)
    });
    assert_eq!(c_active, 32 * HOUR);

    // The bundle changes (and its sequence moves) when an authority is added or retired;
    // an activation changes who signs, not what is trusted.
    let seqs: Vec<(Duration, u64)> = events.iter().map(|(t, _, q)| (*t, *q)).collect();
    assert_eq!(
        seqs,
        [
            (12 * HOUR, seq0 + 1),
            (20 * HOUR, seq0 + 1),
            (24 * HOUR, seq0 + 2),
            (32 * HOUR, seq0 + 2)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_ca_left_off_past_expiry_recovers_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, store) = memory_ca(dir.path()).await;
    let old_id = x509_slots(&ca.snapshot())[0].0.clone();
    drop(ca);
    tokio::time::advance(30 * HOUR).await;
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0() + 30 * HOUR));
    let ca = super::open_with(
        store,
        clock,
        dir.path(),
        super::config(crate::ca::KeyType::EcP256),
        None,
    )
    .await;
    let slots = x509_slots(&ca.snapshot());
    assert_eq!(slots.len(), 1, "the expired authority is gone: {slots:?}");
    assert_ne!(slots[0].0, old_id);
    assert_eq!(slots[0].1, SlotState::Active);
}
