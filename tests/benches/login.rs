//! Full browser login time against the cost of its Argon2id password verification, in one
//! run.
//!
//! 1. Builds the release `tessera-server` (a no-op when it is fresh) and starts it with sled
//!    on disk in a temp dir and `[oauth]` on loopback HTTP (`rate_limit_per_second = 0`,
//!    `log_level = "info"`: every login writes its audit events, as in production), the
//!    default Argon2id parameters, one user per worker (`user create --password-stdin`) and a
//!    public, first-party browser client (`authorization_code` + `refresh_token`, scopes
//!    `openid profile`).
//! 2. Sequential logins (`LOGIN_BENCH_N`, default 40; after one untimed warm-up login per
//!    user), each on a new connection with an empty cookie jar: `GET /oauth2/authorize`
//!    (PKCE S256, state, nonce) → the login form (CSRF token and request id from the page,
//!    the session cookie from `Set-Cookie`) → the consent form if shown (approved) → the
//!    redirect with `code` → `POST /oauth2/token` (`authorization_code` + `code_verifier`),
//!    which must answer 200 with an access, ID and refresh token. Timed: the whole login
//!    (first GET to token response) and the login POST alone.
//! 3. In this process: Argon2id with the server's default parameters (`Argon2Settings::
//!    default()`), one hash, then 20 timed `verify_password` calls (what a login POST runs),
//!    then 20 more spread over one thread per core (what the shared machine gave at once).
//! 4. Concurrent logins, as many workers as cores, ~`LOGIN_BENCH_N` logins in all; each
//!    worker signs in its own user (the server runs one attempt per username at a time and
//!    answers a second concurrent one with 429). Logins/s next to the Argon2 bound
//!    (cores / verify p50) and to the measured Argon2 rate on all cores.
//!
//! Printed: login and login-POST p50/p99, Argon2 verify p50, the share of a login that is
//! Argon2 (p50 ratio), logins/s vs the bound, errors by kind (a 429 is reported, never
//! worked around). No timed assertions. The load generator shares the cores with the
//! server. Run with `cargo bench -p tessera-tests --bench login` (`TESSERA_BENCH_QUICK=1`:
//! 6 logins by default). Figures also go to `$TESSERA_BENCH_RESULTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "login/browser.rs"]
mod browser;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use browser::{App, Timed};
use tessera_server::users::{Argon2Settings, Password, hash_password, verify_password};
use tessera_tests::bench_report::{Results, pick};
use tessera_tests::load::percentile;
use tessera_tests::process::{build_release_server, start_bench_server};
use tessera_tests::{ServerProcess, free_port};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

/// The allocator of the `tessera-server` binary (the in-process Argon2 allocates as it does).
#[global_allocator]
static GLOBAL: tessera_server::Allocator = tessera_server::Allocator;

const PASSWORD: &str = "Login-Bench-Passw0rd";
const CLIENT: &str = "bench-web";
const ARGON2_VERIFIES: usize = 20;

fn user(i: usize) -> String {
    format!("bench-{i}")
}

/// The server, and the browser client registered on it; `users` users made with the CLI.
fn start(dir: &Path, users: usize) -> (ServerProcess, App) {
    let (server, addr) = start_bench_server(dir);
    for i in 0..users {
        server.create_user(&user(i), &[], PASSWORD);
    }
    let redirect_uri = format!("http://127.0.0.1:{}/cb", free_port());
    server.ok(&[
        "client",
        "create",
        "--client-id",
        CLIENT,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--redirect-uri",
        &redirect_uri,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--public",
        "--first-party",
    ]);
    let app = App {
        addr,
        client_id: CLIENT.into(),
        redirect_uri,
    };
    (server, app)
}

/// Successful logins and errors by kind.
#[derive(Debug, Default)]
struct Outcome {
    done: Vec<Timed>,
    errors: BTreeMap<String, usize>,
}

impl Outcome {
    fn add(&mut self, result: Result<Timed, String>) {
        match result {
            Ok(t) => self.done.push(t),
            Err(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Self) {
        self.done.extend(other.done);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn sorted(&self, pick: fn(&Timed) -> Duration) -> Vec<Duration> {
        let mut v: Vec<Duration> = self.done.iter().map(pick).collect();
        v.sort();
        v
    }
}

async fn logins(app: App, username: String, n: usize) -> Outcome {
    let mut outcome = Outcome::default();
    for _ in 0..n {
        outcome.add(browser::login(&app, &username, PASSWORD).await);
    }
    outcome
}

/// `workers` users signing in at once, `per_worker` logins each; returns the outcome and
/// the wall time.
async fn concurrent(app: &App, workers: usize, per_worker: usize) -> (Outcome, Duration) {
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for i in 0..workers {
        tasks.spawn(logins(app.clone(), user(i), per_worker));
    }
    let mut all = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        all.merge(done.unwrap());
    }
    (all, started.elapsed())
}

/// Times `count` verifications of `password` against `stored`.
fn verifies(stored: &str, password: &Password, count: usize) -> Vec<Duration> {
    let settings = Argon2Settings::default();
    (0..count)
        .map(|_| {
            let started = Instant::now();
            let verified = verify_password(Some(stored), password, &settings);
            let took = started.elapsed();
            assert!(verified.ok && verified.rehash.is_none());
            took
        })
        .collect()
}

/// Argon2id at the server's default parameters: verify times on one thread (sorted), then
/// verifies per second with `threads` threads at once (what this machine gave meanwhile).
fn argon2_verifies(threads: usize) -> (Vec<Duration>, f64) {
    let password = Password::new(Zeroizing::new(PASSWORD.to_owned())).unwrap();
    let stored = hash_password(&password, &Argon2Settings::default()).unwrap();
    let mut times = verifies(&stored, &password, ARGON2_VERIFIES);
    times.sort();
    let per_thread = ARGON2_VERIFIES.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| verifies(&stored, &password, per_thread));
        }
    });
    let rate = (per_thread * threads) as f64 / started.elapsed().as_secs_f64();
    (times, rate)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn print_errors(phase: &str, o: &Outcome) {
    println!("{phase:<22} errors {}", o.error_count());
    for (kind, n) in &o.errors {
        println!("{:<22}   {n} x {kind}", "");
    }
}

fn main() {
    let n: usize = std::env::var("LOGIN_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(pick(40, 6))
        .max(1);
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    build_release_server();
    let dir = tempfile::tempdir().unwrap();
    let (server, app) = start(dir.path(), cores);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();

    // One untimed login per user: first-use costs (pages, sled trees, consent) out of the way.
    let (warm, _) = runtime.block_on(concurrent(&app, cores, 1));
    let consents = warm.done.iter().filter(|t| t.consent).count();
    let sequential = runtime.block_on(logins(app.clone(), user(0), n));
    let (argon2, argon2_rate) = argon2_verifies(cores);
    let per_worker = n.div_ceil(cores);
    let (parallel, wall) = runtime.block_on(concurrent(&app, cores, per_worker));
    drop(runtime);
    let log_bytes = server.log().len();
    drop(server);

    let totals = sequential.sorted(|t| t.total);
    let posts = sequential.sorted(|t| t.login_post);
    let argon2_p50 = percentile(&argon2, 50.0);
    let login_p50 = percentile(&totals, 50.0);
    let post_p50 = percentile(&posts, 50.0);
    let rate = parallel.done.len() as f64 / wall.as_secs_f64();
    let bound = cores as f64 / argon2_p50.as_secs_f64();
    let share = |of: Duration| 100.0 * argon2_p50.as_secs_f64() / of.as_secs_f64().max(1e-9);

    println!(
        "Browser login (authorize → login form → code → token), release tessera-server, sled, \
         {cores} cores shared with the load generator"
    );
    let settings = Argon2Settings::default();
    println!(
        "Argon2id m={} KiB, t={}, p={} (server defaults)",
        settings.memory_kib, settings.iterations, settings.parallelism
    );
    println!();
    println!(
        "sequential logins      {} ok of {n} (warm-up: {} ok, {consents} showed consent)",
        totals.len(),
        warm.done.len()
    );
    println!(
        "  full login           p50 {:>9}   p99 {:>9}",
        ms(login_p50),
        ms(percentile(&totals, 99.0))
    );
    println!(
        "  login POST           p50 {:>9}   p99 {:>9}",
        ms(post_p50),
        ms(percentile(&posts, 99.0))
    );
    println!(
        "Argon2id verify        p50 {:>9}   min {:>9}   ({ARGON2_VERIFIES} in process)",
        ms(argon2_p50),
        ms(argon2[0])
    );
    println!(
        "Argon2 share (p50)     {:.0}% of a full login, {:.0}% of the login POST",
        share(login_p50),
        share(post_p50)
    );
    println!();
    println!(
        "concurrent logins      {} ok in {:.2} s at concurrency {cores}: {rate:.1} logins/s",
        parallel.done.len(),
        wall.as_secs_f64()
    );
    let parallel_totals = parallel.sorted(|t| t.total);
    println!(
        "  full login           p50 {:>9}   p99 {:>9}",
        ms(percentile(&parallel_totals, 50.0)),
        ms(percentile(&parallel_totals, 99.0))
    );
    println!(
        "  Argon2 bound         {bound:.1} logins/s ({cores} cores / verify p50): {:.0}% of it",
        100.0 * rate / bound
    );
    println!(
        "  Argon2 measured      {argon2_rate:.1} verifies/s on {cores} threads at once: {:.0}% of it",
        100.0 * rate / argon2_rate
    );
    println!();
    print_errors("warm-up", &warm);
    print_errors("sequential", &sequential);
    print_errors("concurrent", &parallel);
    println!("(tessera wrote {log_bytes} bytes of log at info level)");

    let mut results = Results::new("login");
    let secs = |d: Duration| d.as_secs_f64() * 1e3;
    results.versus(
        "full browser login p50, sequential",
        secs(login_p50),
        "ms",
        "Argon2id verify p50",
        secs(argon2_p50),
    );
    results.figure(
        "full browser login p99, sequential",
        secs(percentile(&totals, 99.0)),
        "ms",
    );
    results.versus(
        "login POST p50",
        secs(post_p50),
        "ms",
        "Argon2id verify p50",
        secs(argon2_p50),
    );
    results.versus(
        &format!("concurrent logins/s, c={cores}"),
        rate,
        "logins/s",
        "Argon2 bound (cores / verify p50)",
        bound,
    );
    results.versus(
        &format!("concurrent logins/s, c={cores}, vs measured Argon2"),
        rate,
        "logins/s",
        "Argon2id verifies/s on all cores",
        argon2_rate,
    );
    let failed = warm.error_count() + sequential.error_count() + parallel.error_count();
    results.figure("login errors", failed as f64, "count");
}
