//! The agent's SPIFFE Workload API under load, in process, over a real Unix socket.
//!
//! A `WorkloadApi` serves a `watch` of `AgentState` this bench controls: one entry
//! (`unix:uid:<this uid>`) with an rcgen SVID for `spiffe://example.org/bench` and a bundle
//! holding its CA. Clients are tonic over the socket. Measured:
//! 1. FetchX509SVID first-message latency (request sent → first message), warm, one stream at
//!    a time over one channel;
//! 2. the same while 100, then 1,000 other FetchX509SVID streams are open (over 50
//!    channels);
//! 3. rotation fan-out: a new state (new leaf serial) is published and the time until every
//!    one of the 1,000 streams has the new message is taken (and per-stream delivery).
//!
//! The suite runs twice: with the agent's real `WorkloadAttestors` (unix attestor, `/proc`)
//! and with a fake attestor answering `unix:uid:<uid>` at once — the gap is the attestation
//! cost (paid when a call or stream opens; a stream keeps its selectors, so a rotation costs
//! no attestation — the "attestations" column shows it). No timed assertions: targets are printed
//! next to the figures. Run with `cargo bench -p tessera-tests --bench workload`
//! (`TESSERA_BENCH_QUICK=1`: 200 calls per level, 2 rotations). The figures (real attestor
//! next to the fake one) and the latency CDF per level go to `$TESSERA_BENCH_RESULTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use tessera_agent::attestor::workload::{
    Caller, StartTimes, WorkloadAttestError, WorkloadAttestors,
};
use tessera_agent::client::ClientError;
use tessera_agent::config::AgentConfig;
use tessera_agent::workload_api::{CallerSelectors, JwtMinter, WorkloadApi, WorkloadEndpoint};
use tessera_proto::clock::{Clock, SystemClock};
use tessera_proto::identity::Selector;
use tessera_proto::wire::tessera::types::v1::JwtSvid;
use tessera_proto::wire::workload::X509svidRequest;
use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
use tessera_tests::bench_report::pick;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::{Channel, Endpoint, Uri};

#[path = "workload/identities.rs"]
mod identities;
#[path = "workload/record.rs"]
mod record;

use identities::{Ca, fingerprint, leaf, leaf_fingerprint, new_ca, state};

use record::{median_fanout, record};

const TD: &str = "example.org";
const WARMUP: usize = 200;
const CALLS: usize = 1000;
/// Streams open for the middle latency level (then the rest up to `STREAMS` are opened).
const MIDDLE: usize = 100;
const STREAMS: usize = 1000;
const CHANNELS: usize = 50;
const ROTATIONS: usize = 5;

/// Sequential calls per level (fewer with `TESSERA_BENCH_QUICK`).
fn calls() -> usize {
    pick(CALLS, 200)
}

fn warmup() -> usize {
    pick(WARMUP, 50)
}
/// Targets (printed, never asserted).
const TARGET_P99: Duration = Duration::from_millis(1);
const TARGET_FANOUT: Duration = Duration::from_secs(1);
/// How long a rotation may take before the bench gives up on it (reported, not failed).
const ROTATION_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------- fakes

/// Answers `unix:uid:<uid>` for every caller, at once.
#[derive(Debug, Clone)]
struct FakeAttestor {
    selectors: Vec<Selector>,
    calls: Arc<AtomicU64>,
}

impl CallerSelectors for FakeAttestor {
    async fn selectors(&self, _caller: Caller) -> Result<Vec<Selector>, WorkloadAttestError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self.selectors.clone())
    }

    fn still_there(&self, _caller: Caller) -> Result<(), WorkloadAttestError> {
        Ok(())
    }
}

/// Counts calls through to the real attestors.
#[derive(Debug, Clone)]
struct Counted<A> {
    inner: A,
    calls: Arc<AtomicU64>,
}

impl<A: CallerSelectors> CallerSelectors for Counted<A> {
    async fn selectors(&self, caller: Caller) -> Result<Vec<Selector>, WorkloadAttestError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.selectors(caller).await
    }

    fn still_there(&self, caller: Caller) -> Result<(), WorkloadAttestError> {
        self.inner.still_there(caller)
    }
}

/// JWT-SVIDs are not measured.
#[derive(Debug, Clone)]
struct FakeMinter;

impl JwtMinter for FakeMinter {
    async fn mint_jwt_svid(
        &self,
        _entry_id: &str,
        _audience: Vec<String>,
    ) -> Result<JwtSvid, ClientError> {
        Ok(JwtSvid::default())
    }
}

// ---------------------------------------------------------------- client side

async fn channel(path: &Path) -> Channel {
    let path = path.to_path_buf();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { UnixStream::connect(path).await.map(TokioIo::new) }
        }))
        .await
        .unwrap()
}

fn req() -> Request<X509svidRequest> {
    let mut r = Request::new(X509svidRequest {});
    r.metadata_mut()
        .insert("workload.spiffe.io", "true".parse().unwrap());
    r
}

/// Request sent → first message received, then the stream is dropped.
async fn first_message(client: &mut SpiffeWorkloadApiClient<Channel>) -> Duration {
    let started = Instant::now();
    let mut stream = client.fetch_x509svid(req()).await.unwrap().into_inner();
    let msg = stream.message().await.unwrap().unwrap();
    let took = started.elapsed();
    assert_eq!(msg.svids.len(), 1);
    took
}

async fn latencies(client: &mut SpiffeWorkloadApiClient<Channel>) -> Vec<Duration> {
    for _ in 0..warmup() {
        first_message(client).await;
    }
    let mut out = Vec::with_capacity(calls());
    for _ in 0..calls() {
        out.push(first_message(client).await);
    }
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (
        pct(&v, 0.50),
        pct(&v, 0.99),
        *v.last().unwrap_or(&Duration::ZERO),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------- the suite

struct Rotation {
    max: Duration,
    p50: Duration,
    p99: Duration,
    delivered: usize,
    attestations: u64,
}

struct Results {
    label: &'static str,
    idle: (Duration, Duration, Duration),
    open_all: Duration,
    middle: (Duration, Duration, Duration),
    loaded: (Duration, Duration, Duration),
    /// The raw first-message latencies per number of open streams (1, `MIDDLE`, `STREAMS`).
    samples: Vec<(usize, Vec<Duration>)>,
    rotations: Vec<Rotation>,
}

/// Runs the three measurements against a fresh Workload API using `attestor`.
async fn suite<A: CallerSelectors>(
    label: &'static str,
    attestor: A,
    calls: Arc<AtomicU64>,
    ca: &Ca,
    uid: u32,
    serial: &mut u64,
) -> Results {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("public").join("api.sock");
    *serial += 1;
    let (publish, rx) = watch::channel(Some(Arc::new(state(ca, leaf(ca, *serial), uid))));
    let api = WorkloadApi::new(
        rx,
        attestor,
        FakeMinter,
        Arc::new(SystemClock) as Arc<dyn Clock>,
    );
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(WorkloadEndpoint::new(path.clone(), api).run(shutdown.clone()));
    for _ in 0..500 {
        if UnixStream::connect(&path).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // 1. One stream at a time.
    let mut probe = SpiffeWorkloadApiClient::new(channel(&path).await);
    let idle_samples = latencies(&mut probe).await;
    let idle = summary(idle_samples.clone());

    // 2. `MIDDLE` then 1,000 streams open, each consumed by a task.
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<(usize, Instant, u64)>();
    let mut clients = Vec::with_capacity(CHANNELS);
    for _ in 0..CHANNELS {
        clients.push(SpiffeWorkloadApiClient::new(channel(&path).await));
    }
    let mut consumers = JoinSet::new();
    let mut open_all = Duration::ZERO;
    let mut middle_samples = Vec::new();
    for (from, to) in [(0, MIDDLE), (MIDDLE, STREAMS)] {
        let opening = Instant::now();
        for i in from..to {
            let mut client = clients[i % CHANNELS].clone();
            let ready_tx = ready_tx.clone();
            let event_tx = event_tx.clone();
            consumers.spawn(async move {
                let mut stream = client.fetch_x509svid(req()).await.unwrap().into_inner();
                stream.message().await.unwrap().unwrap();
                ready_tx.send(()).unwrap();
                while let Ok(Some(msg)) = stream.message().await {
                    let at = Instant::now();
                    if event_tx.send((i, at, leaf_fingerprint(&msg))).is_err() {
                        return;
                    }
                }
            });
        }
        for _ in from..to {
            ready_rx.recv().await.unwrap();
        }
        open_all += opening.elapsed();
        if to == MIDDLE {
            middle_samples = latencies(&mut probe).await;
        }
    }
    let middle = summary(middle_samples.clone());
    let loaded_samples = latencies(&mut probe).await;
    let loaded = summary(loaded_samples.clone());

    // 3. Rotation fan-out to the 1,000 waiting streams.
    let mut rotations = Vec::with_capacity(ROTATIONS);
    for _ in 0..pick(ROTATIONS, 2) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        *serial += 1;
        let next = state(ca, leaf(ca, *serial), uid);
        let expected = fingerprint(&next.entries[0].svid.as_ref().unwrap().cert_chain[0]);
        let calls_before = calls.load(Ordering::Relaxed);
        let mut seen = vec![false; STREAMS];
        let mut per_stream = Vec::with_capacity(STREAMS);
        let published = Instant::now();
        publish.send_replace(Some(Arc::new(next)));
        let deadline = tokio::time::Instant::now() + ROTATION_TIMEOUT;
        while per_stream.len() < STREAMS {
            match tokio::time::timeout_at(deadline, event_rx.recv()).await {
                Ok(Some((i, at, fp))) => {
                    assert_eq!(fp, expected, "stream {i} got an unexpected SVID");
                    if !std::mem::replace(&mut seen[i], true) {
                        per_stream.push(at.duration_since(published));
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        let delivered = per_stream.len();
        let (p50, p99, max) = summary(per_stream);
        rotations.push(Rotation {
            max,
            p50,
            p99,
            delivered,
            attestations: calls.load(Ordering::Relaxed) - calls_before,
        });
    }

    consumers.abort_all();
    while consumers.join_next().await.is_some() {}
    drop((clients, probe));
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Results {
        label,
        idle,
        open_all,
        middle,
        loaded,
        samples: vec![
            (1, idle_samples),
            (MIDDLE, middle_samples),
            (STREAMS, loaded_samples),
        ],
        rotations,
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "MET" } else { "NOT MET" }
}

fn print(r: &Results) {
    println!();
    println!("== attestor: {} ==", r.label);
    println!(
        "{:<58} {:>11} {:>11} {:>11}   target",
        "measure", "p50", "p99", "max"
    );
    println!(
        "{:<58} {:>11} {:>11} {:>11}   p99 <= {} : {}",
        format!(
            "1. FetchX509SVID first message, idle ({} sequential)",
            calls()
        ),
        ms(r.idle.0),
        ms(r.idle.1),
        ms(r.idle.2),
        ms(TARGET_P99),
        met(r.idle.1 <= TARGET_P99)
    );
    println!(
        "{:<58} {:>11} {:>11} {:>11}   p99 <= {} : {}",
        format!("2. same, with {MIDDLE} other streams open"),
        ms(r.middle.0),
        ms(r.middle.1),
        ms(r.middle.2),
        ms(TARGET_P99),
        met(r.middle.1 <= TARGET_P99)
    );
    println!(
        "{:<58} {:>11} {:>11} {:>11}   p99 <= {} : {}",
        format!("   same, with {STREAMS} other streams open"),
        ms(r.loaded.0),
        ms(r.loaded.1),
        ms(r.loaded.2),
        ms(TARGET_P99),
        met(r.loaded.1 <= TARGET_P99)
    );
    println!(
        "   (opening the {STREAMS} streams over {CHANNELS} channels, all first messages in: {})",
        ms(r.open_all)
    );
    println!(
        "3. rotation fan-out to {STREAMS} open streams (publish -> message received on the stream)"
    );
    println!(
        "   {:<4} {:>10} {:>11} {:>11} {:>11} {:>13}",
        "run", "delivered", "p50", "p99", "ALL (max)", "attestations"
    );
    for (i, rot) in r.rotations.iter().enumerate() {
        println!(
            "   {:<4} {:>10} {:>11} {:>11} {:>11} {:>13}",
            i + 1,
            format!("{}/{STREAMS}", rot.delivered),
            ms(rot.p50),
            ms(rot.p99),
            ms(rot.max),
            rot.attestations
        );
    }
    let median = median_fanout(r);
    let mut maxes: Vec<Duration> = r.rotations.iter().map(|x| x.max).collect();
    maxes.sort();
    let all_delivered = r.rotations.iter().all(|x| x.delivered == STREAMS);
    let worst = *maxes.last().unwrap();
    println!(
        "   median ALL: {}   worst ALL: {}   target: {STREAMS} streams updated <= {} : {} (median), {} (every run{})",
        ms(median),
        ms(worst),
        ms(TARGET_FANOUT),
        met(all_delivered && median <= TARGET_FANOUT),
        met(all_delivered && worst <= TARGET_FANOUT),
        if all_delivered {
            ""
        } else {
            "; some streams never got it"
        },
    );
}

/// `WorkloadAttestors::attest` alone for this process, sequential.
async fn attest_cost(
    attestors: &WorkloadAttestors,
    caller: Caller,
) -> (Duration, Duration, Duration) {
    for _ in 0..warmup() {
        attestors.attest(caller).await.unwrap();
    }
    let mut v = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let t = Instant::now();
        attestors.attest(caller).await.unwrap();
        v.push(t.elapsed());
    }
    summary(v)
}

/// `STREAMS` concurrent `attest` calls, as a rotation triggers them: time until all are done.
async fn attest_burst(attestors: &WorkloadAttestors, caller: Caller) -> Duration {
    let t = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..STREAMS {
        let a = attestors.clone();
        set.spawn(async move { a.attest(caller).await.unwrap() });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    t.elapsed()
}

#[tokio::main]
async fn main() {
    let proc_self = std::fs::metadata("/proc/self").unwrap();
    let (uid, gid) = (proc_self.uid(), proc_self.gid());
    let pid = i32::try_from(std::process::id()).unwrap();
    let caller = Caller {
        pid,
        uid,
        gid,
        start_time: tessera_agent::attestor::workload::ProcFs::new("/")
            .start_time(pid)
            .unwrap()
            .unwrap(),
    };
    let config = AgentConfig::parse(
        &format!("trust_domain = \"{TD}\"\nserver_address = \"127.0.0.1:8081\"\njoin_token = \"bench-unused\"\n"),
        Path::new("bench-agent.toml"),
    )
    .unwrap();
    let attestors = WorkloadAttestors::from_config(&config).unwrap();
    let selectors = attestors.attest(caller).await.unwrap();
    let wanted = Selector::parse(&format!("unix:uid:{uid}")).unwrap();
    assert!(
        selectors.contains(&wanted),
        "the unix attestor did not report {wanted}"
    );
    let ca = new_ca();
    let mut serial = 1000;

    println!(
        "Workload API bench: pid {} uid {uid}, {} tokio workers, entry selector unix:uid:{uid}, \
         SVID spiffe://{TD}/bench",
        caller.pid,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let started = Instant::now();

    let counted = Arc::new(AtomicU64::new(0));
    let real = suite(
        "REAL WorkloadAttestors::from_config (unix, /proc)",
        Counted {
            inner: attestors.clone(),
            calls: Arc::clone(&counted),
        },
        Arc::clone(&counted),
        &ca,
        uid,
        &mut serial,
    )
    .await;
    print(&real);

    let counter = Arc::new(AtomicU64::new(0));
    let fake = suite(
        "fake (answers unix:uid at once) - for comparison",
        FakeAttestor {
            selectors: vec![wanted],
            calls: Arc::clone(&counter),
        },
        Arc::clone(&counter),
        &ca,
        uid,
        &mut serial,
    )
    .await;
    print(&fake);

    println!();
    println!("== attestation alone (real WorkloadAttestors::attest for this process) ==");
    let (p50, p99, max) = attest_cost(&attestors, caller).await;
    println!(
        "   one call, sequential ({}): p50 {}  p99 {}  max {}",
        calls(),
        ms(p50),
        ms(p99),
        ms(max)
    );
    println!(
        "   {STREAMS} concurrent calls (1000 streams opened at once): all done in {}",
        ms(attest_burst(&attestors, caller).await)
    );
    record(&real, &fake);
    println!();
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
}
