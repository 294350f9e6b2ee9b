//! Entry-to-workload latency (issue 13: ≤ 1 s at p99 with 1,000 agents connected), push next
//! to poll, in one run on one machine.
//!
//! For each mode — **push** (server `[agent_api] push = true`, agent `push = true`) and
//! **poll** (server `push = false`: the agent polls every `sync_interval`) — with the agent's
//! default `sync_interval` of 5 s in both:
//!
//! 1. the release `tessera-server` (sled) and a release `tessera-agent` (join token), whose
//!    Workload API socket has a `FetchX509SVID` stream open (the Rust `spiffe` crate, as this
//!    process, uid-selected) before anything is measured;
//! 2. **1 agent**: `runs` times, an entry for this workload is created through the admin
//!    API (gRPC on the admin socket); the latency is from just before `CreateEntries` to the
//!    stream message that carries the new SVID (stamped when it arrives). The entry is then
//!    deleted and its removal from the stream awaited (not timed);
//! 3. **1,000 agents**: `PUSH_BENCH_AGENTS` simulated agents attest (join tokens), each with
//!    one entry of its own and its own mTLS connection, and behave like agents: every 5 s
//!    (random phase) `GetBundles` + `SyncEntries`; with push, also a `WatchChanges` stream and
//!    the same sync on every signal. Once all are connected (push: each stream delivered its
//!    first signal), step 2 again.
//!
//! Printed: p50 / p99 / max per mode and agent count, the target, and the signals the
//! simulated agents received during the measurement (the relevance filter: an entry for the
//! real agent concerns none of them). No timed assertions.
//!
//! Reading the poll figures: each run starts right after the previous entry's deletion
//! reached the workload, i.e. just after one of the agent's rounds, so the poll latency is
//! phase-locked to the full `sync_interval` (its worst case, ≈ 5 s); a change made at a
//! random moment waits 2.5 s on average under polling.
//! Run with `cargo bench -p tessera-tests --bench push`. Knobs: `PUSH_BENCH_AGENTS` (1000),
//! `PUSH_BENCH_RUNS` (100, push), `POLL_BENCH_RUNS` (20, poll: ~5 s each); with
//! `TESSERA_BENCH_QUICK=1` 100 agents, 10 and 2 runs. Figures (push next to poll) also go
//! to `$TESSERA_BENCH_RESULTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera_agent::client;
use tessera_agent::config::ServerAddress;
use tessera_agent::tls::{SpiffeServerVerifier, client_config, connect};
use tessera_agent::x509::{SvidWithKey, generate_key};
use tessera_proto::wire::tessera::admin::v1::entries_client::EntriesClient;
use tessera_proto::wire::tessera::admin::v1::join_tokens_client::JoinTokensClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateEntriesRequest, CreateJoinTokenRequest, DeleteEntriesRequest,
};
use tessera_proto::wire::tessera::agent::v1::AttestationData;
use tessera_proto::wire::tessera::types::v1::{
    Bundle, Entry, Selector as WireSelector, X509Authority,
};
use tessera_tests::bench_report::{Results, pick};
use tessera_tests::process::{build_release_agent, build_release_server};
use tessera_tests::{AgentProcess, ServerProcess, free_port};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

const BASE: &str = "spiffe://example.org/bench/push/base";
const SERVER_ID: &str = "spiffe://example.org/tessera/server";
const SYNC_INTERVAL: Duration = Duration::from_secs(5);
const TARGET_P99: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(60);
/// Simulated agents attested at once.
const ATTEST_CONCURRENCY: usize = 16;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn my_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Push,
    Poll,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Poll => "poll (5 s)",
        }
    }
}

// ---------------------------------------------------------------- admin API

async fn join_token(admin: &Channel) -> String {
    JoinTokensClient::new(admin.clone())
        .create_join_token(CreateJoinTokenRequest {
            ttl: 3600,
            agent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .token
}

fn entry(parent: &str, spiffe_id: &str, uid: u32) -> Entry {
    Entry {
        spiffe_id: spiffe_id.into(),
        parent_id: parent.into(),
        selectors: vec![WireSelector {
            r#type: "unix".into(),
            value: format!("uid:{uid}"),
        }],
        ..Entry::default()
    }
}

/// Creates `entries`; returns their IDs.
async fn create(admin: &Channel, entries: Vec<Entry>) -> Vec<String> {
    let reply = EntriesClient::new(admin.clone())
        .create_entries(CreateEntriesRequest { entries })
        .await
        .unwrap()
        .into_inner();
    reply
        .results
        .into_iter()
        .map(|r| {
            assert_eq!(r.code, 0, "{}", r.message);
            r.entry.unwrap().id
        })
        .collect()
}

async fn delete(admin: &Channel, id: String) {
    EntriesClient::new(admin.clone())
        .delete_entries(DeleteEntriesRequest { ids: vec![id] })
        .await
        .unwrap();
}

// ---------------------------------------------------------------- the workload

/// The SPIFFE IDs of the workload stream's latest message and when it arrived.
type Seen = (Instant, BTreeSet<String>);

/// A `FetchX509SVID` stream on `socket`; `None` while the workload has no identity yet.
async fn open_workload(socket: &Path) -> Option<watch::Receiver<Seen>> {
    let client = spiffe::WorkloadApiClient::connect_to(&format!("unix://{}", socket.display()))
        .await
        .ok()?;
    let mut stream = client.stream_x509_contexts().await.ok()?;
    let (tx, rx) = watch::channel((Instant::now(), BTreeSet::new()));
    tokio::spawn(async move {
        let _client = client;
        while let Some(Ok(ctx)) = stream.next().await {
            let at = Instant::now();
            let ids = ctx
                .svids()
                .iter()
                .map(|s| s.spiffe_id().to_string())
                .collect();
            if tx.send((at, ids)).is_err() {
                return;
            }
        }
    });
    Some(rx)
}

async fn wait_for(
    rx: &mut watch::Receiver<Seen>,
    ok: impl Fn(&BTreeSet<String>) -> bool,
) -> Instant {
    tokio::time::timeout(WAIT, rx.wait_for(|(_, ids)| ok(ids)))
        .await
        .expect("the workload stream never showed the change")
        .unwrap()
        .0
}

/// `runs` entries created and deleted one at a time; the latency of each creation.
async fn measure(
    admin: &Channel,
    agent_id: &str,
    workload: &mut watch::Receiver<Seen>,
    runs: usize,
    tag: &str,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(runs);
    for i in 0..runs {
        let id = format!("spiffe://example.org/bench/push/{tag}/{i}");
        let start = Instant::now();
        let entry_id = create(admin, vec![entry(agent_id, &id, my_uid())])
            .await
            .remove(0);
        let arrived = wait_for(workload, |ids| ids.contains(&id)).await;
        latencies.push(arrived.saturating_duration_since(start));
        delete(admin, entry_id).await;
        wait_for(workload, |ids| !ids.contains(&id)).await;
    }
    latencies.sort();
    latencies
}

// ---------------------------------------------------------------- simulated agents

#[derive(Debug, Default)]
struct SimStats {
    /// Streams that delivered their first signal (push) or agents running (poll).
    ready: AtomicU64,
    signals: AtomicU64,
    syncs: AtomicU64,
    errors: AtomicU64,
}

fn bundle_of(pem: &str) -> Bundle {
    Bundle {
        trust_domain: "example.org".into(),
        x509_authorities: x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .map(|p| X509Authority {
                asn1: p.unwrap().contents,
                tainted: false,
            })
            .collect(),
        ..Bundle::default()
    }
}

/// Attests one simulated agent; returns its mTLS channel and ID.
async fn attest(admin: &Channel, address: &ServerAddress, bundle: &Bundle) -> (Channel, String) {
    let verifier = Arc::new(SpiffeServerVerifier::new(bundle, SERVER_ID.into()));
    let token = join_token(admin).await;
    let plain = connect(
        std::slice::from_ref(address),
        Arc::new(client_config(verifier.clone(), None).unwrap()),
    )
    .await
    .unwrap();
    let key = generate_key().unwrap();
    let reply = client::attest(
        plain,
        AttestationData {
            r#type: "join_token".into(),
            payload: token.into_bytes(),
        },
        key.csr.clone(),
    )
    .await
    .unwrap();
    let svid = SvidWithKey::from_parts(
        reply.svid.unwrap().cert_chain,
        key.private_key_pkcs8,
        Some(&key.public_key_spki),
    )
    .unwrap();
    let id = svid.spiffe_id.clone();
    let channel = connect(
        std::slice::from_ref(address),
        Arc::new(client_config(verifier, Some(&svid)).unwrap()),
    )
    .await
    .unwrap();
    (channel, id)
}

/// What a real agent's round asks: bundles, then entries since its revision.
async fn sync(channel: &Channel, revision: &mut u64, stats: &SimStats) {
    let done = async {
        client::get_bundles(channel.clone()).await?;
        let pages = client::sync_entries(channel.clone(), *revision).await?;
        *revision = pages.iter().map(|p| p.revision).max().unwrap_or(*revision);
        Ok::<_, client::ClientError>(())
    };
    match done.await {
        Ok(()) => stats.syncs.fetch_add(1, Ordering::Relaxed),
        Err(_) => stats.errors.fetch_add(1, Ordering::Relaxed),
    };
}

async fn sim_agent(
    channel: Channel,
    mode: Mode,
    phase: Duration,
    stats: Arc<SimStats>,
    stop: CancellationToken,
) {
    let mut revision = 0;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + phase, SYNC_INTERVAL);
    let mut stream = match mode {
        Mode::Push => Some(
            client::watch_changes(channel.clone())
                .await
                .unwrap()
                .unwrap(),
        ),
        Mode::Poll => {
            stats.ready.fetch_add(1, Ordering::Relaxed);
            None
        }
    };
    let mut first = true;
    loop {
        let signal = async {
            match stream.as_mut() {
                Some(s) => s.message().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => sync(&channel, &mut revision, &stats).await,
            message = signal => match message {
                Ok(Some(_)) => {
                    if first {
                        first = false;
                        stats.ready.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.signals.fetch_add(1, Ordering::Relaxed);
                    }
                    sync(&channel, &mut revision, &stats).await;
                }
                _ => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    stream = None;
                }
            },
        }
    }
}

/// Attests `n` simulated agents, gives each an entry, starts them, and waits until all are
/// connected.
async fn simulate(
    n: usize,
    admin: &Channel,
    address: &ServerAddress,
    bundle: &Bundle,
    mode: Mode,
    stop: &CancellationToken,
) -> Arc<SimStats> {
    let started = Instant::now();
    let mut agents = Vec::with_capacity(n);
    let mut pending = JoinSet::new();
    for _ in 0..n {
        if pending.len() >= ATTEST_CONCURRENCY {
            agents.push(pending.join_next().await.unwrap().unwrap());
        }
        let (admin, address, bundle) = (admin.clone(), address.clone(), bundle.clone());
        pending.spawn(async move { attest(&admin, &address, &bundle).await });
    }
    while let Some(done) = pending.join_next().await {
        agents.push(done.unwrap());
    }
    let entries: Vec<Entry> = agents
        .iter()
        .enumerate()
        .map(|(i, (_, id))| entry(id, &format!("spiffe://example.org/bench/sim/{i}"), 60000))
        .collect();
    for chunk in entries.chunks(500) {
        create(admin, chunk.to_vec()).await;
    }
    let stats = Arc::new(SimStats::default());
    for (i, (channel, _)) in agents.into_iter().enumerate() {
        let phase = SYNC_INTERVAL.mul_f64(i as f64 / n as f64);
        tokio::spawn(sim_agent(channel, mode, phase, stats.clone(), stop.clone()));
    }
    let deadline = Instant::now() + WAIT;
    while stats.ready.load(Ordering::Relaxed) < n as u64 {
        assert!(
            Instant::now() < deadline,
            "simulated agents never all connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "  {n} simulated agents attested and connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    stats
}

// ---------------------------------------------------------------- one mode

struct Row {
    mode: Mode,
    agents: usize,
    latencies: Vec<Duration>,
    sim_signals: u64,
    sim_syncs: u64,
    sim_errors: u64,
}

fn run_mode(rt: &tokio::runtime::Runtime, mode: Mode, sims: usize, runs: usize) -> Vec<Row> {
    println!("{}:", mode.name());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = ServerProcess::start(
        dir.path(),
        &format!(
            "trust_domain = \"example.org\"\ndata_dir = \".tessera/server\"\n\
             bind_address = \"127.0.0.1:{port}\"\nlog_level = \"warn\"\n\n\
             [agent_api]\npush = {}\nmax_connections = 4096\nattest_per_second = 0\n",
            mode == Mode::Push
        ),
    );
    let address = ServerAddress::parse(&format!("127.0.0.1:{port}")).unwrap();
    let admin = rt
        .block_on(tessera_server::api::uds::connect(&server.socket))
        .unwrap();
    let bundle_pem = server.ok(&["bundle", "show"]);
    let bundle_path = dir.path().join("bundle.pem");
    std::fs::write(&bundle_path, &bundle_pem).unwrap();

    let token = rt.block_on(join_token(&admin));
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    rt.block_on(create(&admin, vec![entry(&agent_id, BASE, my_uid())]));
    let socket = dir.path().join("agent/api.sock");
    let mut agent = AgentProcess::spawn(
        &dir.path().join("agent"),
        &format!(
            "trust_domain = \"example.org\"\nserver_address = \"127.0.0.1:{port}\"\n\
             trust_bundle_path = \"{}\"\njoin_token = \"{token}\"\nsocket_path = \"{}\"\n\
             sync_interval = \"5s\"\npush = {}\nlog_level = \"warn\"\n",
            bundle_path.display(),
            socket.display(),
            mode == Mode::Push
        ),
    );
    let deadline = Instant::now() + WAIT;
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "no agent socket:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut workload = rt.block_on(async {
        let deadline = Instant::now() + WAIT;
        loop {
            // The stream needs the base entry's SVID: retry until the agent has it.
            if let Some(mut rx) = open_workload(&socket).await {
                let first = tokio::time::timeout(
                    Duration::from_secs(2),
                    rx.wait_for(|(_, ids)| ids.contains(BASE)),
                )
                .await;
                if first.is_ok_and(|r| r.is_ok()) {
                    break rx;
                }
            }
            assert!(Instant::now() < deadline, "the workload never got its SVID");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    let mut rows = Vec::new();
    let one = rt.block_on(measure(
        &admin,
        &agent_id,
        &mut workload,
        runs,
        &format!("{mode:?}/1"),
    ));
    rows.push(Row {
        mode,
        agents: 1,
        latencies: one,
        sim_signals: 0,
        sim_syncs: 0,
        sim_errors: 0,
    });

    let stop = CancellationToken::new();
    let stats = rt.block_on(simulate(
        sims,
        &admin,
        &address,
        &bundle_of(&bundle_pem),
        mode,
        &stop,
    ));
    let (signals, syncs) = (
        stats.signals.load(Ordering::Relaxed),
        stats.syncs.load(Ordering::Relaxed),
    );
    let many = rt.block_on(measure(
        &admin,
        &agent_id,
        &mut workload,
        runs,
        &format!("{mode:?}/{sims}"),
    ));
    rows.push(Row {
        mode,
        agents: sims + 1,
        latencies: many,
        sim_signals: stats.signals.load(Ordering::Relaxed) - signals,
        sim_syncs: stats.syncs.load(Ordering::Relaxed) - syncs,
        sim_errors: stats.errors.load(Ordering::Relaxed),
    });
    stop.cancel();
    agent.stop();
    drop(server);
    rows
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    tessera_tests::load::percentile(sorted, p)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    build_release_server();
    build_release_agent();
    let sims: usize = env_or("PUSH_BENCH_AGENTS", pick(1000, 100));
    let push_runs: usize = env_or("PUSH_BENCH_RUNS", pick(100, 10));
    let poll_runs: usize = env_or("POLL_BENCH_RUNS", pick(20, 2));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut rows = run_mode(&rt, Mode::Push, sims, push_runs);
    rows.extend(run_mode(&rt, Mode::Poll, sims, poll_runs));
    println!();
    println!(
        "entry created (admin API) → new SVID on an open FetchX509SVID stream; agent sync_interval 5 s"
    );
    println!(
        "{:<12} {:>7} {:>5} {:>10} {:>10} {:>10}   simulated agents during the runs",
        "mode", "agents", "runs", "p50", "p99", "max"
    );
    for r in &rows {
        println!(
            "{:<12} {:>7} {:>5} {:>10} {:>10} {:>10}   {} signals, {} syncs, {} errors",
            r.mode.name(),
            r.agents,
            r.latencies.len(),
            ms(pct(&r.latencies, 50.0)),
            ms(pct(&r.latencies, 99.0)),
            ms(*r.latencies.last().unwrap()),
            r.sim_signals,
            r.sim_syncs,
            r.sim_errors,
        );
    }
    println!(
        "target: p99 ≤ {} with 1,000 agents connected (push)",
        ms(TARGET_P99)
    );
    record(&rows);
}

/// The figures for the report (`tests/bench`): push next to poll, per agent count.
fn record(rows: &[Row]) {
    let mut results = Results::new("push");
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    for push in rows.iter().filter(|r| r.mode == Mode::Push) {
        let poll = rows
            .iter()
            .find(|r| r.mode == Mode::Poll && r.agents == push.agents);
        for p in [50.0, 99.0] {
            let agents = match push.agents {
                1 => "1 agent".to_owned(),
                n => format!("{n} agents"),
            };
            let name = format!("entry → workload SVID p{p:.0}, {agents} connected");
            let ours = millis(pct(&push.latencies, p));
            match poll {
                Some(poll) => results.versus(
                    &name,
                    ours,
                    "ms",
                    "poll (sync_interval 5 s)",
                    millis(pct(&poll.latencies, p)),
                ),
                None => results.figure(&name, ours, "ms"),
            }
        }
    }
}
