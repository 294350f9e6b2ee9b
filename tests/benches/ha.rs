//! OAuth throughput of one replica on sled next to two replicas on PostgreSQL (issue 10,
//! "Performance"), in one run on one machine.
//!
//! 1. Builds the release `tessera-server` (`cargo build --release -p tessera-server`; a no-op
//!    when it is fresh). Every server below is that binary, started by
//!    `start_bench_replica` as the `oauth` bench starts its server: `[oauth]` on loopback
//!    HTTP, no rate limit, `log_level = "info"` (an audit event per issuance).
//! 2. Seeds, before any server starts, through the server crate's datastore API (the same
//!    helper as the `refresh` bench): a public client, 100 users and `HA_BENCH_FAMILIES`
//!    (default 4096) refresh-token families, once into the sled store of the single server's
//!    `data_dir` and once into a fresh PostgreSQL database (`TestDatabase`: the server on
//!    127.0.0.1:5432 or `TESSERA_TEST_DATABASE_URL`). Only the hashes are stored; the bench
//!    keeps the tokens.
//! 3. **sled × 1**: one server on sled. **PostgreSQL × 2**: two replicas (`server_id` r1 and
//!    r2, `[datastore] kind = "postgres"`, default pool of 10 connections each) on that one
//!    database. One at a time: the sled server is stopped before the replicas start.
//! 4. On each setup, with the `oauth` bench's closed-loop load generator (64 keep-alive
//!    connections; with two replicas, 32 on each): `client_credentials` (a
//!    `client_secret_basic` client created with the CLI) and then `refresh_token` grants, each
//!    a warm-up then a measured window. Each connection owns 1/64 of the families and
//!    refreshes them round robin, always with the token its previous refresh of that family
//!    returned (every refresh rotates; a family whose answer was lost is dropped, never
//!    replayed). Only 200 answers count (with an access token, and a new refresh token for
//!    refreshes).
//!
//! 5. **Peer**: PostgreSQL alone (`pgbench`, `ha/pgbench.rs`) running the statements of a
//!    refresh on a throwaway copy of the schema with as many connections as the two
//!    replicas' pools: the database's own ceiling for that work on this machine.
//!
//! Printed: tokens/s, p50, p99, errors, CPU (servers, load generator, the PostgreSQL
//! backends of the bench database, everything else) and database transactions per grant,
//! per setup and grant, then the targets: refresh ≥ 5,000/s on PostgreSQL, and PostgreSQL
//! client_credentials tokens/s within 20 % of sled. No timed assertions. The load generator and PostgreSQL share the machine's cores
//! with the servers. Run with `cargo bench -p tessera-tests --bench ha` (a PostgreSQL must
//! answer); `HA_BENCH_SECS` sets the window (default 10 s; warm-up 2 s) and
//! `HA_BENCH_FAMILIES` the families (2 s and 1024 with `TESSERA_BENCH_QUICK=1`). Figures
//! also go to `$TESSERA_BENCH_RESULTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "oauth/cpu.rs"]
mod cpu;
#[path = "oauth/load.rs"]
mod load;
#[path = "ha/pgbench.rs"]
mod pgbench;
#[path = "refresh/seed.rs"]
mod seed;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use hyper::body::Bytes;
use tessera_server::datastore::{PgSettings, PgStore, SledStore};
use tessera_server::oauth::grants::{GrantLifetimes, Grants};
use tessera_tests::bench_report::{Results, pick};
use tessera_tests::process::{build_release_server, start_bench_replica};
use tessera_tests::{ServerProcess, TestDatabase};
use zeroize::Zeroizing;

use load::{Exchange, Outcome, Target};

const CONNECTIONS: usize = 64;
/// A replica's pool (`[datastore] max_connections`, default).
const POOL: usize = 10;
const WARMUP: Duration = Duration::from_secs(2);
const RESOURCE: &str = "https://api.example.org";
const CC_BODY: &str = "grant_type=client_credentials&scope=read";
/// The public client the refresh families belong to (seeded).
const SPA: &str = "bench-spa";
/// Targets (printed, never asserted).
const TARGET_REFRESH_PG: f64 = 5_000.0;
const TARGET_PG_SHARE_OF_SLED: f64 = 0.80;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A share of the refresh-token families: each request refreshes the next family with the
/// token that family's previous refresh returned.
struct Rotating {
    tokens: Vec<String>,
    next: usize,
}

impl Rotating {
    /// Drops the current family (its token is spent or its state unknown).
    fn drop_current(&mut self) {
        if self.next < self.tokens.len() {
            self.tokens.swap_remove(self.next);
        }
    }
}

impl Exchange for Rotating {
    fn body(&mut self) -> Option<Bytes> {
        if self.tokens.is_empty() {
            return None;
        }
        self.next %= self.tokens.len();
        Some(Bytes::from(format!(
            "grant_type=refresh_token&client_id={SPA}&refresh_token={}",
            self.tokens[self.next]
        )))
    }

    fn answer(&mut self, status: StatusCode, body: &[u8]) -> bool {
        let rotated = (status == StatusCode::OK && load::has_access_token(body))
            .then(|| string_field(body, "refresh_token"))
            .flatten();
        match rotated {
            Some(token) => {
                self.tokens[self.next] = token;
                self.next += 1;
                true
            }
            None => {
                self.drop_current();
                false
            }
        }
    }

    fn lost(&mut self) {
        self.drop_current();
    }
}

/// The string value of `"name":"…"` in a JSON body (a byte search: base64url values need
/// no unescaping, and parsing would take CPU from the servers on the same cores).
fn string_field(body: &[u8], name: &str) -> Option<String> {
    let needle = format!("\"{name}\":\"");
    let at = body
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?;
    let rest = &body[at + needle.len()..];
    let len = rest.iter().position(|&b| b == b'"')?;
    String::from_utf8(rest[..len].to_vec()).ok()
}

/// `tokens` dealt round robin to `CONNECTIONS` connections.
fn deal(tokens: &[String]) -> Vec<Rotating> {
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); CONNECTIONS];
    for (i, t) in tokens.iter().enumerate() {
        shares[i % CONNECTIONS].push(t.clone());
    }
    shares
        .into_iter()
        .map(|tokens| Rotating { tokens, next: 0 })
        .collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// Creates the `client_credentials` client through `server`'s admin CLI; its Basic header.
fn create_cc_client(server: &ServerProcess) -> String {
    let created: serde_json::Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "bench",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--audience",
        RESOURCE,
        "--auth-method",
        "client_secret_basic",
        "--output",
        "json",
    ]))
    .unwrap();
    basic("bench", created["client_secret"].as_str().unwrap())
}

fn target(addr: SocketAddr, authorization: &str) -> Target {
    Target {
        addr,
        path: "/oauth2/token".into(),
        authorization: authorization.into(),
        body: CC_BODY.into(),
    }
}

/// Waits until `target` issues a token (a replica may see a client created on another
/// replica a moment later).
async fn until_served(target: &Target) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = load::one(target).await;
        if answer.starts_with("200") && answer.contains("\"access_token\"") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never issued a token: {answer}",
            target.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the PostgreSQL backends serving the bench database did over a window.
#[derive(Debug, Default, Clone, Copy)]
struct DatabaseLoad {
    /// Cores they used.
    cores: f64,
    /// Transactions committed or rolled back in the database (`pg_stat_database`; a
    /// statement outside a transaction counts as one). Backends report them at most once a
    /// second, so this is approximate at the window's edges.
    transactions: f64,
}

/// One measured run and what the database did meanwhile (zero on sled).
struct Measured {
    outcome: Outcome,
    database: DatabaseLoad,
}

impl Measured {
    /// Database transactions per successful grant.
    fn transactions_per_token(&self) -> f64 {
        self.database.transactions / self.outcome.latencies_us.len().max(1) as f64
    }
}

fn seconds_of(pids: &[u32]) -> f64 {
    pids.iter().map(|&p| cpu::process_seconds(p)).sum()
}

/// Samples the database at `url` from `from` for `window`: the CPU of its backends (process
/// IDs from `pg_stat_activity`, whose `/proc` stat any user can read; this connection's own
/// excluded) and its transaction count.
async fn sample_database(url: String, from: Instant, window: Duration) -> DatabaseLoad {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    tokio::time::sleep_until(from.into()).await;
    let rows: Vec<(i32,)> = sqlx::query_as(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let pids: Vec<u32> = rows
        .into_iter()
        .filter_map(|(p,)| u32::try_from(p).ok())
        .collect();
    const TRANSACTIONS: &str = "SELECT (xact_commit + xact_rollback)::bigint \
         FROM pg_stat_database WHERE datname = current_database()";
    let (x0,): (i64,) = sqlx::query_as(TRANSACTIONS)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (cpu0, at) = (seconds_of(&pids), Instant::now());
    tokio::time::sleep(window).await;
    let cpu1 = seconds_of(&pids);
    let elapsed = at.elapsed().as_secs_f64();
    let (x1,): (i64,) = sqlx::query_as(TRANSACTIONS)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    DatabaseLoad {
        cores: (cpu1 - cpu0) / elapsed,
        // Less this sampler's own two statements.
        transactions: (x1 - x0 - 2).max(0) as f64,
    }
}

/// Runs `exchanges` over `targets` (served by `pids`) for the warm-up and `window`; with
/// `database` (a URL), also samples that database over the window.
async fn measure<E: Exchange>(
    targets: &[Target],
    pids: &[u32],
    exchanges: Vec<E>,
    window: Duration,
    database: Option<&str>,
) -> Measured {
    let from = Instant::now() + WARMUP + Duration::from_millis(50);
    let sampler = database.map(|url| tokio::spawn(sample_database(url.to_owned(), from, window)));
    let outcome = load::run_with(targets, pids, exchanges, WARMUP, window).await;
    let database = match sampler {
        Some(s) => s.await.unwrap(),
        None => DatabaseLoad::default(),
    };
    Measured { outcome, database }
}

/// What one setup measured.
struct Setup {
    name: &'static str,
    client_credentials: Measured,
    refresh: Measured,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(setup: &str, grant: &str, m: &Measured) {
    let o = &m.outcome;
    println!(
        "{setup:<16} {grant:<19} {:>9.0} {:>9} {:>9} {:>7} {:>8.0} {:>8.0} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>8.1}",
        o.per_second(),
        ms(o.quantile(0.50)),
        ms(o.quantile(0.99)),
        o.errors,
        o.server_us_per_token(),
        o.load_generator_us_per_token(),
        o.cores.server,
        o.cores.load_generator,
        m.database.cores,
        (o.cores.others - m.database.cores).max(0.0),
        m.transactions_per_token(),
    );
    for kind in &o.error_kinds {
        println!("{:<36} error: {kind}", "");
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// Server + database CPU microseconds per successful grant.
fn cpu_us_per_token(m: &Measured) -> f64 {
    let o = &m.outcome;
    let tokens = o.latencies_us.len().max(1) as f64;
    o.server_us_per_token() + m.database.cores * o.window.as_secs_f64() * 1e6 / tokens
}

fn main() {
    let window = Duration::from_secs(env_or("HA_BENCH_SECS", pick(10, 2)));
    let families: usize = env_or("HA_BENCH_FAMILIES", pick(4096, 1024));
    build_release_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .unwrap();

    // Seeding, before any server runs (sled allows one process at a time).
    let sled_dir = tempfile::tempdir().unwrap();
    let data_dir = sled_dir.path().join(".tessera/server");
    tessera_proto::private_dir::prepare(&data_dir).unwrap();
    let started = Instant::now();
    let sled_tokens = runtime.block_on(async {
        let store = SledStore::open(&data_dir.join("datastore")).unwrap();
        let grants = Grants::new(store.clone(), GrantLifetimes::default());
        seed::seed(&store, &grants, SPA, families, CONNECTIONS).await
    });
    println!(
        "seeded {families} refresh families ({} users) into sled in {:.1} s",
        seed::USERS,
        started.elapsed().as_secs_f64()
    );
    let db = TestDatabase::create();
    let started = Instant::now();
    let pg_tokens = runtime.block_on(async {
        let settings = PgSettings {
            connection_string: Zeroizing::new(db.url.clone()),
            ro_connection_string: None,
            max_connections: 16,
            client_cache_ttl: std::time::Duration::ZERO,
        };
        let store = PgStore::open(&settings).await.unwrap();
        let grants = Grants::new(store.clone(), GrantLifetimes::default());
        let tokens = seed::seed(&store, &grants, SPA, families, CONNECTIONS).await;
        drop(grants);
        store.close().await;
        tokens
    });
    println!(
        "seeded {families} refresh families ({} users) into PostgreSQL in {:.1} s",
        seed::USERS,
        started.elapsed().as_secs_f64()
    );

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{CONNECTIONS} connections, {}s warm-up + {}s window per run, {cores} cores shared by the servers, PostgreSQL and the load generator",
        WARMUP.as_secs(),
        window.as_secs()
    );

    println!("PostgreSQL alone (pgbench): running");
    let peer_db = TestDatabase::create();
    let ceiling = runtime.block_on(pgbench::ceiling(&peer_db, families, 2 * POOL, window));
    drop(peer_db);

    let sled = {
        let (server, addr) = start_bench_replica(sled_dir.path(), None, "");
        let pid = server.pid().unwrap();
        let cc = target(addr, &create_cc_client(&server));
        runtime.block_on(until_served(&cc));
        println!("sled x1: running");
        let client_credentials = Measured {
            outcome: runtime.block_on(load::run(&cc, pid, CONNECTIONS, WARMUP, window)),
            database: DatabaseLoad::default(),
        };
        let refresh = runtime.block_on(measure(
            &[target(addr, "")],
            &[pid],
            deal(&sled_tokens),
            window,
            None,
        ));
        drop(server);
        Setup {
            name: "sled x1",
            client_credentials,
            refresh,
        }
    };

    let postgres = {
        let datastore = format!(
            "\n[datastore]\nkind = \"postgres\"\nconnection_string = \"{}\"\n",
            db.url
        );
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (r1, a1) = start_bench_replica(d1.path(), Some("r1"), &datastore);
        let (r2, a2) = start_bench_replica(d2.path(), Some("r2"), &datastore);
        let pids = [r1.pid().unwrap(), r2.pid().unwrap()];
        let auth = create_cc_client(&r1);
        let cc = [target(a1, &auth), target(a2, &auth)];
        for t in &cc {
            runtime.block_on(until_served(t));
        }
        println!("PostgreSQL x2: running");
        let fixed = (0..CONNECTIONS)
            .map(|_| load::Fixed::new(CC_BODY))
            .collect();
        let client_credentials =
            runtime.block_on(measure(&cc, &pids, fixed, window, Some(&db.url)));
        let refresh = runtime.block_on(measure(
            &[target(a1, ""), target(a2, "")],
            &pids,
            deal(&pg_tokens),
            window,
            Some(&db.url),
        ));
        drop((r1, r2));
        Setup {
            name: "PostgreSQL x2",
            client_credentials,
            refresh,
        }
    };
    drop(runtime);
    drop(db);

    println!();
    println!(
        "{:<16} {:<19} {:>9} {:>9} {:>9} {:>7} {:>17} {:>27} {:>8}",
        "", "", "", "", "", "", "CPU us/token", "cores used", "pg xacts"
    );
    println!(
        "{:<16} {:<19} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>8}",
        "setup",
        "grant",
        "tokens/s",
        "p50",
        "p99",
        "errors",
        "servers",
        "loadgen",
        "srv",
        "load",
        "pg",
        "others",
        "/token"
    );
    for s in [&sled, &postgres] {
        row(s.name, "client_credentials", &s.client_credentials);
        row(s.name, "refresh_token", &s.refresh);
    }
    let pg_refresh = postgres.refresh.outcome.per_second();
    let share = postgres.client_credentials.outcome.per_second()
        / sled
            .client_credentials
            .outcome
            .per_second()
            .max(f64::MIN_POSITIVE);
    println!();
    println!(
        "refresh_token on PostgreSQL x2        {pg_refresh:>8.0}/s   target >= {TARGET_REFRESH_PG:.0}/s   {}",
        verdict(pg_refresh >= TARGET_REFRESH_PG)
    );
    println!(
        "  peer: PostgreSQL alone (pgbench)    {ceiling:>8.0}/s   the same statements per refresh, {} connections: the database's own ceiling here",
        2 * POOL
    );
    println!(
        "client_credentials PostgreSQL / sled  {:>8.1}%    target >= {:.0}%      {}",
        share * 100.0,
        TARGET_PG_SHARE_OF_SLED * 100.0,
        verdict(share >= TARGET_PG_SHARE_OF_SLED)
    );
    println!(
        "refresh_token PostgreSQL / sled       {:>8.1}%    (no target)",
        pg_refresh / sled.refresh.outcome.per_second().max(f64::MIN_POSITIVE) * 100.0
    );
    println!();
    println!(
        "CPU per token, servers + PostgreSQL backends (what the rates would follow with the cores to ourselves):"
    );
    for s in [&sled, &postgres] {
        println!(
            "  {:<16} client_credentials {:>7.0} us   refresh_token {:>7.0} us",
            s.name,
            cpu_us_per_token(&s.client_credentials),
            cpu_us_per_token(&s.refresh)
        );
    }
    println!(
        "(\"pg\" = the PostgreSQL backends of the bench database; \"others\" = everything else on this machine, other engineers' builds included;\n \"pg xacts/token\" = database transactions per grant, a statement outside a transaction counting as one)"
    );
    record(&sled, &postgres, ceiling);
}

/// The figures for the report (`tests/bench`): PostgreSQL x2 next to sled x1, and the
/// refresh rate next to pgbench's ceiling.
fn record(sled: &Setup, postgres: &Setup, ceiling: f64) {
    let mut results = Results::new("ha");
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    fn grants(s: &Setup) -> [(&'static str, &Measured); 2] {
        [
            ("client_credentials", &s.client_credentials),
            ("refresh_token", &s.refresh),
        ]
    }
    for ((grant, pg), (_, one)) in grants(postgres).into_iter().zip(grants(sled)) {
        let (pg, one) = (&pg.outcome, &one.outcome);
        results.versus(
            &format!("{grant} tokens/s, PostgreSQL x2"),
            pg.per_second(),
            "tokens/s",
            "sled x1",
            one.per_second(),
        );
        results.versus(
            &format!("{grant} p99, PostgreSQL x2"),
            millis(pg.quantile(0.99)),
            "ms",
            "sled x1",
            millis(one.quantile(0.99)),
        );
    }
    results.versus(
        "refresh_token tokens/s, PostgreSQL x2, vs the database alone",
        postgres.refresh.outcome.per_second(),
        "tokens/s",
        "pgbench, same statements",
        ceiling,
    );
}
