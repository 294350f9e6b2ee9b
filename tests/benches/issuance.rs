//! X.509-SVID issuance end to end (issue 15): an agent started fresh with N entries, timed
//! until it holds all N SVIDs, next to the CPU bound of that work measured in the same run;
//! the rate against the agent's `x509_svid_batch_size`; memory per SVID and per entry.
//!
//! 1. **Bound**: each P-256 primitive of one SVID (agent key generation, CSR signature,
//!    server CSR verification, certificate signature, agent chain check) timed on one core
//!    with the crates the code uses; bound = cores ÷ their sum.
//! 2. **Issuance**: a release `tessera-server` (sled) and N entries (admin API,
//!    `CreateEntries` batches) for a join token's agent; then a release `tessera-agent` is
//!    started and timed from its start until its `tessera_agent_cache_x509_svids` gauge
//!    (`[metrics]`, polled every 5 ms) shows N — attestation, sync and every SVID included.
//!    Once with the default batch size, then once per batch size of the sweep (plot
//!    `issuance_vs_batch`). A fresh server for every run.
//! 3. **Memory**: agent `VmRSS` holding N SVIDs minus that of an agent holding none (same
//!    binary and config) → bytes per SVID (target ≤ 4 KB); server `VmRSS` after creating
//!    10,000 and 100,000 entries (target ≤ 150 MB at 100,000), and after the issuance run.
//!
//! Run with `cargo bench -p tessera-tests --bench issuance`. Knobs: `ISSUANCE_BENCH_ENTRIES`
//! (10000), `ISSUANCE_BENCH_BATCHES` (`50,100,250,500,1000`; empty: no sweep),
//! `ISSUANCE_BENCH_SERVER_ENTRIES` (100000), `TESSERA_BENCH_QUICK=1` (2,000 entries, batch
//! sizes 100 and 500, server memory at 10,000 and 20,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "issuance/bound.rs"]
mod bound;
#[path = "issuance/procs.rs"]
mod procs;

use std::time::{Duration, Instant};

use procs::{Agent, Server};
use tessera_tests::bench_report::{Plot, Results, quick};

const SVIDS: &str = "tessera_agent_cache_x509_svids";
const ROUNDS: &str = "tessera_agent_sync_duration_seconds_count{result=\"ok\"}";
const TARGET_RATE: f64 = 8_000.0;
const TARGET_BOUND_SHARE: f64 = 0.75;
const TARGET_BYTES_PER_SVID: f64 = 4096.0;
const TARGET_SERVER_MB: f64 = 150.0;
const WAIT: Duration = Duration::from_secs(300);
const MB: f64 = 1024.0 * 1024.0;

const BATCH_PLOT: Plot = Plot {
    id: "issuance_vs_batch",
    title: "X.509-SVID issuance vs agent batch size",
    x: "x509_svid_batch_size",
    y: "SVIDs/s (agent start → all held)",
    log_x: true,
    log_y: false,
};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One issuance run: the time from agent start to all `n` SVIDs held, and the RSS of the
/// agent and the server then.
struct Run {
    elapsed: Duration,
    agent_rss: u64,
    server_rss: u64,
    /// CPU seconds the agent used from its start, and the server during the run.
    agent_cpu: f64,
    server_cpu: f64,
}

impl Run {
    fn rate(&self, n: usize) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }
}

fn issue(rt: &tokio::runtime::Runtime, n: usize, batch: Option<usize>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(rt, dir.path());
    let (token, agent_id) = rt.block_on(server.join_token());
    rt.block_on(server.create_entries(&agent_id, "run", 0, n));
    let server_pid = server.process.pid().unwrap();
    let server_cpu = procs::cpu_seconds(server_pid);
    let start = Instant::now();
    let mut agent = Agent::spawn(&dir.path().join("agent"), &server, &token, batch);
    let done = agent.wait_metric(SVIDS, n as f64, WAIT);
    let elapsed = done - start;
    let agent_cpu = procs::cpu_seconds(agent.process.pid().unwrap());
    let server_cpu = procs::cpu_seconds(server_pid) - server_cpu;
    // Let the round's transient buffers go before reading memory.
    std::thread::sleep(Duration::from_millis(500));
    let run = Run {
        elapsed,
        agent_rss: agent.rss(),
        server_rss: server.rss(),
        agent_cpu,
        server_cpu,
    };
    agent.process.stop();
    run
}

/// RSS of an agent that completed a round holding no SVID.
fn idle_agent_rss(rt: &tokio::runtime::Runtime) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(rt, dir.path());
    let (token, _) = rt.block_on(server.join_token());
    let mut agent = Agent::spawn(&dir.path().join("agent"), &server, &token, None);
    agent.wait_metric(ROUNDS, 1.0, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    let rss = agent.rss();
    agent.process.stop();
    rss
}

/// Server RSS after creating each count of entries in `counts` (ascending), in one server.
fn server_rss(rt: &tokio::runtime::Runtime, counts: &[usize]) -> Vec<(usize, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(rt, dir.path());
    let mut created = 0;
    let mut out = Vec::new();
    for &count in counts {
        // Parents spread over 100 agents, 1/100 of the entries each.
        let started = Instant::now();
        while created < count {
            let n = (count - created).min(1000);
            let parent = format!(
                "spiffe://example.org/tessera/agent/join_token/bench-{}",
                created / 1000 % 100
            );
            rt.block_on(server.create_entries(&parent, "mem", created, n));
            created += n;
        }
        println!(
            "  {count} entries created ({:.1} s for the last step)",
            started.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_millis(500));
        out.push((count, server.rss()));
    }
    out
}

fn main() {
    tessera_tests::process::build_release_server();
    tessera_tests::process::build_release_agent();
    let quick = quick();
    let n: usize = env_or("ISSUANCE_BENCH_ENTRIES", if quick { 2_000 } else { 10_000 });
    let batches: Vec<usize> = std::env::var("ISSUANCE_BENCH_BATCHES")
        .unwrap_or_else(|_| {
            if quick {
                "100,500"
            } else {
                "50,100,250,500,1000"
            }
            .into()
        })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let big: usize = env_or(
        "ISSUANCE_BENCH_SERVER_ENTRIES",
        if quick { 20_000 } else { 100_000 },
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut results = Results::new("issuance");

    println!("bound (one core, best of 3 × 2,000 of each primitive):");
    let bound = bound::measure(2_000);
    for p in &bound.primitives {
        println!("  {:<32} {:>7.1} µs", p.name, p.per_op.as_secs_f64() * 1e6);
        results.figure(
            &format!("bound: {}", p.name),
            p.per_op.as_secs_f64() * 1e6,
            "µs",
        );
    }
    let bound_rate = bound.svids_per_second();
    println!(
        "  per SVID {:.1} µs × {} cores → bound {bound_rate:.0} SVIDs/s",
        bound.per_svid().as_secs_f64() * 1e6,
        bound.cores
    );
    results.figure(
        "bound: P-256 work per SVID",
        bound.per_svid().as_secs_f64() * 1e6,
        "µs",
    );

    println!("issuance, {n} entries, default batch size:");
    let main = issue(&rt, n, None);
    let rate = main.rate(n);
    println!(
        "  all {n} SVIDs held {:.2} s after agent start: {rate:.0} SVIDs/s = {:.0} % of the bound",
        main.elapsed.as_secs_f64(),
        100.0 * rate / bound_rate
    );
    results.versus(
        "issuance (default batch size)",
        rate,
        "SVIDs/s",
        "CPU bound (same run)",
        bound_rate,
    );
    let per = |cpu: f64| cpu * 1e6 / n as f64;
    println!(
        "  CPU per SVID: agent {:.0} µs, server {:.0} µs (P-256 work alone: {:.0} µs)",
        per(main.agent_cpu),
        per(main.server_cpu),
        bound.per_svid().as_secs_f64() * 1e6
    );
    results.figure("agent CPU per SVID", per(main.agent_cpu), "µs");
    results.figure("server CPU per SVID", per(main.server_cpu), "µs");
    results.versus(
        "issuance (default batch size) vs target",
        rate,
        "SVIDs/s",
        "target",
        TARGET_RATE,
    );

    let mut sweep = Vec::new();
    for &batch in &batches {
        let run = issue(&rt, n, Some(batch));
        let r = run.rate(n);
        println!(
            "  x509_svid_batch_size = {batch:>5}: {:.2} s, {r:.0} SVIDs/s; CPU per SVID: agent {:.0} µs, server {:.0} µs",
            run.elapsed.as_secs_f64(),
            run.agent_cpu * 1e6 / n as f64,
            run.server_cpu * 1e6 / n as f64,
        );
        results.point(&BATCH_PLOT, "Tessera", batch as f64, r);
        results.point(&BATCH_PLOT, "CPU bound", batch as f64, bound_rate);
        sweep.push((batch, r));
    }

    println!("memory:");
    let idle = idle_agent_rss(&rt);
    let per_svid = (main.agent_rss.saturating_sub(idle)) as f64 / n as f64;
    println!(
        "  agent: {:.1} MB holding none, {:.1} MB holding {n}: {per_svid:.0} bytes per SVID (entry included)",
        idle as f64 / MB,
        main.agent_rss as f64 / MB
    );
    results.versus(
        "agent memory per SVID",
        per_svid,
        "bytes",
        "target",
        TARGET_BYTES_PER_SVID,
    );
    results.figure("agent RSS holding none", idle as f64 / MB, "MB");
    results.figure(
        &format!("agent RSS holding {n} SVIDs"),
        main.agent_rss as f64 / MB,
        "MB",
    );
    println!(
        "  server after issuing {n}: {:.1} MB",
        main.server_rss as f64 / MB
    );
    results.figure(
        &format!("server RSS after issuing {n} SVIDs"),
        main.server_rss as f64 / MB,
        "MB",
    );
    let mut counts = vec![10_000];
    if big > 10_000 {
        counts.push(big);
    }
    for (count, rss) in server_rss(&rt, &counts) {
        println!("  server with {count} entries: {:.1} MB", rss as f64 / MB);
        results.versus(
            &format!("server RSS with {count} entries"),
            rss as f64 / MB,
            "MB",
            "target at 100,000",
            TARGET_SERVER_MB,
        );
    }

    println!();
    println!(
        "issuance: {rate:.0} SVIDs/s (target ≥ {TARGET_RATE:.0}/s or ≥ {:.0} % of the bound = {:.0}/s): {}",
        TARGET_BOUND_SHARE * 100.0,
        TARGET_BOUND_SHARE * bound_rate,
        if rate >= TARGET_RATE || rate >= TARGET_BOUND_SHARE * bound_rate {
            "met"
        } else {
            "not met"
        }
    );
    if let Some((b, r)) = sweep.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        println!("best batch size {b}: {r:.0} SVIDs/s");
    }
    println!("memory: {per_svid:.0} bytes per SVID (target ≤ {TARGET_BYTES_PER_SVID:.0})");
}
