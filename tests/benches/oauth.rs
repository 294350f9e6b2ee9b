//! The client_credentials grant under load: Tessera next to node `oidc-provider`, in one run,
//! against the raw ES256 signing rate of this machine.
//!
//! 1. Builds the release `tessera-server` (`cargo build --release -p tessera-server`; a no-op
//!    when it is fresh) and starts it with `[oauth]` on loopback HTTP, `rate_limit_per_second =
//!    0`, `log_level = "info"` (so every issuance writes its audit event, as in production) and
//!    a client_credentials client authenticating with `client_secret_basic`.
//! 2. Starts node `oidc-provider` (`tests/interop/node/oidc_provider_bench.mjs`, installed by
//!    `tests/run`'s `npm ci`) with the same client and RFC 9068 JWT access tokens signed ES256.
//!    And the floor peer ([`minimal`]): the same bench binary as a process serving the least
//!    an ES256 token endpoint on tokio + hyper + aws-lc-rs does (check the Basic credentials
//!    and the body, sign, answer), the most any issuer built on this stack reaches here.
//! 3. For each server in turn, a closed-loop load generator (in this process, tokio + hyper,
//!    keep-alive, like `wrk -c64`) keeps 64 connections busy with
//!    `POST token grant_type=client_credentials&scope=read` + Basic auth: 2 s warm-up, then a
//!    10 s window. Only 200 answers carrying an access token count; p50/p99 are per request.
//!    The generator shares the machine's cores with the server, as `wrk` did for the figures in
//!    the issue.
//!    Then the same at 1, 4 and 16 connections (1 s warm-up, 5 s window) for the
//!    throughput-vs-concurrency plot.
//! 4. The bound: aws-lc-rs ECDSA P-256 (FIXED) signatures of a JWT-sized input on every core
//!    for 3 s (no server under load meanwhile).
//!
//! Printed: tokens/s, p50, p99 and errors side by side, the ratio Tessera / oidc-provider,
//! Tessera as a share of the minimal endpoint and of the signing bound, each next to its
//! target, if any (≥ 10× oidc-provider, p99 ≤ 5 ms, ≥ 50% of the bound (issue 15)). No
//! timed assertions. Run with `cargo bench -p tessera-tests --bench oauth` (after
//! `tests/run` or `npm ci --prefix tests/interop/node`). `TESSERA_BENCH_QUICK=1`
//! (`tests/bench --quick`): every window 1.5 s (warm-up 0.5 s). Figures, the
//! throughput-vs-concurrency plot and the latency CDFs at 64 connections go to
//! `$TESSERA_BENCH_RESULTS` (`bench_report`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "oauth/cpu.rs"]
mod cpu;
#[path = "oauth/load.rs"]
mod load;
#[path = "oauth/minimal.rs"]
mod minimal;
#[path = "oauth/signing.rs"]
mod signing;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tessera_tests::bench_report::{Plot, Results, pick};
use tessera_tests::guard::{self, Spawned};
use tessera_tests::process::{build_release_server, start_bench_server};
use tessera_tests::{ServerProcess, free_port};

use load::{Outcome, Target};

const CONNECTIONS: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(10);
const SIGNING_WINDOW: Duration = Duration::from_secs(3);
/// The throughput-vs-concurrency sweep (64 is the main run), with shorter windows.
const SWEEP: [usize; 3] = [1, 4, 16];
const SWEEP_WARMUP: Duration = Duration::from_secs(1);
const SWEEP_WINDOW: Duration = Duration::from_secs(5);
/// `TESSERA_BENCH_QUICK`: every window this long (warm-up 0.5 s).
const QUICK_WINDOW: Duration = Duration::from_millis(1500);
const QUICK_WARMUP: Duration = Duration::from_millis(500);
const THROUGHPUT: Plot = Plot {
    id: "tokens_vs_concurrency",
    title: "client_credentials throughput vs concurrency",
    x: "concurrent connections",
    y: "tokens/s",
    log_x: true,
    log_y: false,
};
const LATENCY: Plot = Plot {
    id: "token_latency_cdf",
    title: "client_credentials latency CDF, 64 connections",
    x: "latency (ms)",
    y: "fraction of requests",
    log_x: true,
    log_y: false,
};
const RESOURCE: &str = "https://api.example.org";
/// The floor peer's name in tables and plots ([`minimal`]).
const MINIMAL: &str = "minimal ES256";
const BODY: &str = "grant_type=client_credentials&scope=read";
/// Targets (printed, never asserted).
const TARGET_RATIO: f64 = 10.0;
const TARGET_P99: Duration = Duration::from_millis(5);
const TARGET_SHARE_OF_BOUND: f64 = 0.50;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Tessera with `[oauth]` on a loopback port and one secret client; returns the server,
/// its address and the client's Basic credentials.
fn start_tessera(dir: &Path) -> (ServerProcess, SocketAddr, String) {
    let (server, addr) = start_bench_server(dir);
    let created: serde_json::Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "bench",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--scope",
        "write",
        "--audience",
        RESOURCE,
        "--auth-method",
        "client_secret_basic",
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    (server, addr, basic("bench", secret))
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// node `oidc-provider`, stopped on drop (its process group).
struct OidcProvider(Spawned);

impl OidcProvider {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

fn start_oidc_provider(secret: &str) -> (OidcProvider, SocketAddr) {
    let dir = workspace().join("tests/interop/node");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "{}/node_modules is missing: run `npm ci --prefix tests/interop/node` (tests/run does)",
        dir.display()
    );
    let port = free_port();
    let mut child = guard::spawn(
        Command::new(std::env::var("TESSERA_NODE").unwrap_or_else(|_| "node".into()))
            .arg("oidc_provider_bench.mjs")
            .args([&port.to_string(), "bench", secret, RESOURCE])
            .current_dir(&dir)
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    wait_listening(&mut child, "oidc-provider");
    (
        OidcProvider(child),
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

/// Waits for a peer's first line on its piped stdout: `listening`.
fn wait_listening(child: &mut Spawned, what: &str) {
    let stdout = child.stdout().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{what} did not start: {line:?}");
}

/// One token request; returns the access token's JOSE header (proves what is being signed).
async fn probe(target: &Target) -> String {
    let outcome = load::one(target).await;
    let token = outcome
        .split("\"access_token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no access token from {}: {outcome}", target.addr));
    let header = token.split('.').next().unwrap_or_default();
    String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, o: &Outcome) {
    println!(
        "{name:<20} {:>9.0} {:>9} {:>9} {:>7} {:>10.0} {:>10.0} {:>6.2} {:>6.2} {:>6.2}",
        o.per_second(),
        ms(o.quantile(0.50)),
        ms(o.quantile(0.99)),
        o.errors,
        o.server_us_per_token(),
        o.load_generator_us_per_token(),
        o.cores.server,
        o.cores.load_generator,
        o.cores.others,
    );
    for kind in &o.error_kinds {
        println!("{:<20} error: {kind}", "");
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn main() {
    minimal::serve_if_asked();
    build_release_server();
    let dir = tempfile::tempdir().unwrap();
    let (tessera, tessera_addr, tessera_auth) = start_tessera(dir.path());
    let mut random = [0u8; 32];
    aws_lc_rs::rand::fill(&mut random).unwrap();
    let op_secret = URL_SAFE_NO_PAD.encode(random);
    let (oidc_provider, op_addr) = start_oidc_provider(&op_secret);
    let minimal_auth = basic("bench", &op_secret);
    let (minimal, minimal_addr) = minimal::start(&minimal_auth, BODY);
    let targets = [
        (
            "tessera",
            tessera.pid().unwrap(),
            Target {
                addr: tessera_addr,
                path: "/oauth2/token".into(),
                authorization: tessera_auth,
                body: BODY.into(),
            },
        ),
        (
            "oidc-provider",
            oidc_provider.pid(),
            Target {
                addr: op_addr,
                path: "/token".into(),
                authorization: basic("bench", &op_secret),
                body: BODY.into(),
            },
        ),
        (
            MINIMAL,
            minimal.id(),
            Target {
                addr: minimal_addr,
                path: "/token".into(),
                authorization: minimal_auth,
                body: BODY.into(),
            },
        ),
    ];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "OAuth client_credentials (client_secret_basic), {CONNECTIONS} connections, {}s warm-up + {}s window, {cores} cores shared with the load generator",
        pick(WARMUP, QUICK_WARMUP).as_secs_f64(),
        pick(WINDOW, QUICK_WINDOW).as_secs_f64()
    );
    let mut outcomes = Vec::new();
    for (name, _, target) in &targets {
        let header = runtime.block_on(probe(target));
        println!("{name:<15} access token header {header}");
    }
    let (warmup, window) = (pick(WARMUP, QUICK_WARMUP), pick(WINDOW, QUICK_WINDOW));
    for (name, pid, target) in &targets {
        outcomes.push((
            *name,
            runtime.block_on(load::run(target, *pid, CONNECTIONS, warmup, window)),
        ));
    }
    let (sweep_warmup, sweep_window) = (
        pick(SWEEP_WARMUP, QUICK_WARMUP),
        pick(SWEEP_WINDOW, QUICK_WINDOW),
    );
    let mut sweep = Vec::new();
    for connections in SWEEP {
        for (name, pid, target) in &targets {
            let o = runtime.block_on(load::run(
                target,
                *pid,
                connections,
                sweep_warmup,
                sweep_window,
            ));
            sweep.push((*name, connections, o));
        }
    }
    drop(runtime);
    drop(minimal);
    drop(oidc_provider);
    let log_bytes = tessera.log().len();
    drop(tessera);

    let bound = signing::es256_rate(cores, pick(SIGNING_WINDOW, QUICK_WINDOW));

    println!();
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>7} {:>10} {:>10} {:>20}",
        "", "", "", "", "", "CPU us/token", "", "cores used"
    );
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>7} {:>10} {:>10} {:>6} {:>6} {:>6}",
        "server",
        "tokens/s",
        "p50",
        "p99",
        "errors",
        "server",
        "loadgen",
        "server",
        "loadgen",
        "others"
    );
    for (name, o) in &outcomes {
        row(name, o);
    }
    println!();
    println!(
        "At lower concurrency ({}s warm-up + {}s window):",
        sweep_warmup.as_secs_f64(),
        sweep_window.as_secs_f64()
    );
    for (name, connections, o) in &sweep {
        row(&format!("{name} c={connections}"), o);
    }
    let ours = &outcomes[0].1;
    let theirs = &outcomes[1].1;
    let ratio = ours.per_second() / theirs.per_second().max(f64::MIN_POSITIVE);
    let share = ours.per_second() / bound.per_second;
    // The same comparisons in CPU time, unaffected by what else the machine ran.
    let cpu_ratio =
        theirs.server_us_per_token() / ours.server_us_per_token().max(f64::MIN_POSITIVE);
    let cpu_share = bound.cpu_us_per_signature
        / (ours.server_us_per_token() + ours.load_generator_us_per_token()).max(f64::MIN_POSITIVE);
    println!();
    println!(
        "tessera / oidc-provider   {ratio:>8.1}x   target >= {TARGET_RATIO}x    {}",
        verdict(ratio >= TARGET_RATIO)
    );
    let floor = &outcomes[2].1;
    let floor_ratio = floor.per_second() / theirs.per_second().max(f64::MIN_POSITIVE);
    println!(
        "{MINIMAL} / oidc-provider {floor_ratio:>8.1}x   (the ceiling here: a tokio + hyper + aws-lc-rs endpoint that only checks, signs and answers)"
    );
    println!(
        "tessera / {MINIMAL}     {:>8.1}%   (server CPU per token {:.0} us against {:.0} us)",
        100.0 * ours.per_second() / floor.per_second().max(f64::MIN_POSITIVE),
        ours.server_us_per_token(),
        floor.server_us_per_token()
    );
    println!(
        "tessera p99               {:>9}   target <= {}   {}",
        ms(ours.quantile(0.99)),
        ms(TARGET_P99),
        verdict(ours.quantile(0.99) <= TARGET_P99)
    );
    println!(
        "ES256 signing bound       {:>8.0}/s (aws-lc-rs P-256 FIXED, {cores} threads; {:.1} CPU us per signature, others used {:.2} cores)",
        bound.per_second, bound.cpu_us_per_signature, bound.others
    );
    println!(
        "tessera / bound           {:>8.1}%   target >= {:.0}%     {}",
        share * 100.0,
        TARGET_SHARE_OF_BOUND * 100.0,
        verdict(share >= TARGET_SHARE_OF_BOUND)
    );
    println!();
    println!("In CPU time (what the figures would be with the cores to ourselves):");
    println!(
        "  oidc-provider / tessera server CPU per token  {cpu_ratio:>6.1}x   target >= {TARGET_RATIO}x    {}",
        verdict(cpu_ratio >= TARGET_RATIO)
    );
    println!(
        "  signature / (server + loadgen) CPU per token  {:>6.1}%   target >= {:.0}%     {}",
        cpu_share * 100.0,
        TARGET_SHARE_OF_BOUND * 100.0,
        verdict(cpu_share >= TARGET_SHARE_OF_BOUND)
    );
    record(&outcomes, &sweep, &bound);
    println!(
        "(tessera wrote {log_bytes} bytes of log at info level; \"others\" = CPU used by other processes on this machine)"
    );
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The figures and plots for the report (`tests/bench`).
fn record(outcomes: &[(&str, Outcome)], sweep: &[(&str, usize, Outcome)], bound: &signing::Bound) {
    let mut results = Results::new("oauth");
    let (ours, theirs) = (&outcomes[0].1, &outcomes[1].1);
    let peer = outcomes[1].0;
    results.versus(
        "client_credentials tokens/s, c=64",
        ours.per_second(),
        "tokens/s",
        peer,
        theirs.per_second(),
    );
    let (floor_name, floor) = (outcomes[2].0, &outcomes[2].1);
    results.versus(
        "client_credentials tokens/s, c=64, vs the minimal ES256 endpoint",
        ours.per_second(),
        "tokens/s",
        floor_name,
        floor.per_second(),
    );
    results.versus(
        "server CPU per token, vs the minimal ES256 endpoint",
        ours.server_us_per_token(),
        "µs",
        floor_name,
        floor.server_us_per_token(),
    );
    results.versus(
        "client_credentials tokens/s, c=64, vs ES256 bound",
        ours.per_second(),
        "tokens/s",
        "ES256 signing on all cores",
        bound.per_second,
    );
    for (q, label) in [(0.50, "p50"), (0.99, "p99")] {
        results.versus(
            &format!("client_credentials {label}, c=64"),
            millis(ours.quantile(q)),
            "ms",
            peer,
            millis(theirs.quantile(q)),
        );
    }
    results.versus(
        "server CPU per token",
        ours.server_us_per_token(),
        "µs",
        peer,
        theirs.server_us_per_token(),
    );
    for (name, o) in outcomes {
        results.point(&THROUGHPUT, name, CONNECTIONS as f64, o.per_second());
        let samples: Vec<f64> = o
            .latencies_us
            .iter()
            .map(|us| f64::from(*us) / 1000.0)
            .collect();
        results.cdf(&LATENCY, name, &samples);
    }
    for (name, connections, o) in sweep {
        results.point(&THROUGHPUT, name, *connections as f64, o.per_second());
    }
}
