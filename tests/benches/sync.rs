//! How an agent's sync scales with the size of the store (issue 10: cost independent of the
//! total, ≤ 1.5× from 1k to 100k entries on PostgreSQL).
//!
//! For each backend (sled, then PostgreSQL), builds two stores (1k and 100k entries) where
//! one agent is authorized for the same 100 entries (direct children, a node alias and its
//! children, and nested descendants), then times `authorized_entries` for that agent — the
//! datastore part of the agent API's `Sync`; the rest of that RPC (TLS, the agent record,
//! encoding 100 entries) does not depend on the total — and prints p50/p99, the time to fill
//! each store, and the 100k/1k ratio next to the 1.5× target. No timed assertions: the
//! numbers are for people.
//!
//! - sled: a store in a temp dir, filled with concurrent `create_entry` calls (their flushes
//!   coalesce).
//! - PostgreSQL: a fresh database per size (`TestDatabase`: the server on 127.0.0.1:5432 or
//!   `TESSERA_TEST_DATABASE_URL`), migrated by `PgStore::open`, filled by multi-row
//!   `INSERT … SELECT FROM UNNEST(…)` statements of 10,000 rows in one transaction (the
//!   columns `PgStore` writes, computed the way it computes them; checked afterwards through
//!   `PgStore`: the count, the revision, and a duplicate refused by the uniqueness key), then
//!   `ANALYZE entries`, as autovacuum would after a load. Timed through `PgStore` like sled.
//!
//! Run with `cargo bench -p tessera-tests --bench sync`. Knobs: `SYNC_BENCH_BACKENDS`
//! (`sled,postgres` by default), `SYNC_BENCH_LARGE` (100000; 10000 with
//! `TESSERA_BENCH_QUICK=1`), `SYNC_BENCH_RUNS` (1000; 100 quick). Figures and the
//! sync-vs-entries plot also go to `$TESSERA_BENCH_RESULTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use prost::Message as _;
use sqlx::Connection as _;
use tessera_proto::identity::{Selector, SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector as WireSelector};
use tessera_server::datastore::{DatastoreError, EntryStore, PgSettings, PgStore, SledStore};
use tessera_server::registration::{authorized_entries, new_entry_id, server_id};
use tessera_tests::TestDatabase;
use tessera_tests::bench_report::{Plot, Results, pick};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

const TD: &str = "bench.org";
/// Entries the benchmarked agent is authorized for.
const AUTHORIZED: usize = 100;
/// Node aliases that do not match the agent's node (present in both stores).
const OTHER_ALIASES: usize = 50;
/// Concurrent creates per batch (their flushes coalesce).
const BATCH: usize = 1000;
/// Rows per multi-row INSERT on PostgreSQL.
const ROWS_PER_INSERT: usize = 10_000;
const SMALL: usize = 1_000;
const WARMUP: usize = 20;
/// Sync-cost target of issue 10: 100k / 1k on PostgreSQL.
const TARGET_RATIO: f64 = 1.5;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn id(path: &str) -> String {
    format!("spiffe://{TD}{path}")
}

fn entry(spiffe_id: String, parent_id: String, selector: String) -> Entry {
    let (kind, value) = selector.split_once(':').unwrap();
    Entry {
        id: new_entry_id().unwrap(),
        spiffe_id,
        parent_id,
        selectors: vec![WireSelector {
            r#type: kind.into(),
            value: value.into(),
        }],
        ..Entry::default()
    }
}

/// The 100 authorized entries, the unmatched aliases, and `total` entries in all.
fn population(total: usize, agent: &str, server: &str) -> Vec<Entry> {
    let mut all = Vec::with_capacity(total);
    // 40 direct children of the agent.
    for i in 0..40 {
        all.push(entry(
            id(&format!("/direct/{i}")),
            agent.into(),
            format!("unix:uid:{i}"),
        ));
    }
    // 30 nested descendants: 10 under each of 3 direct entries, 5 of them one level deeper.
    for i in 0..25 {
        let parent = id(&format!("/direct/{}", i % 3));
        all.push(entry(
            id(&format!("/nested/{i}")),
            parent,
            format!("unix:gid:{i}"),
        ));
    }
    for i in 0..5 {
        let parent = id(&format!("/nested/{i}"));
        all.push(entry(
            id(&format!("/deeper/{i}")),
            parent,
            format!("unix:gid:{i}"),
        ));
    }
    // A node alias matching the agent's node, and 29 workloads under it.
    all.push(entry(
        id("/cluster/bench"),
        server.into(),
        "k8s:cluster:bench".into(),
    ));
    for i in 0..29 {
        let parent = id("/cluster/bench");
        all.push(entry(
            id(&format!("/aliased/{i}")),
            parent,
            format!("k8s:ns:{i}"),
        ));
    }
    assert_eq!(all.len(), AUTHORIZED);
    for i in 0..OTHER_ALIASES {
        let sel = format!("k8s:cluster:other-{i}");
        all.push(entry(
            id(&format!("/cluster/other-{i}")),
            server.into(),
            sel,
        ));
    }
    // Everything else belongs to 1000 other agents.
    for i in all.len()..total {
        let parent = id(&format!("/tessera/agent/other-{}", i % 1000));
        all.push(entry(
            id(&format!("/noise/{i}")),
            parent,
            format!("unix:uid:{i}"),
        ));
    }
    all
}

async fn fill(store: &SledStore, entries: Vec<Entry>) {
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let mut set = JoinSet::new();
        for e in entries.by_ref().take(BATCH) {
            let store = store.clone();
            set.spawn(async move { store.create_entry(e).await.unwrap() });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    }
}

/// Inserts `entries` (one selector each) into the migrated database at `url` in one
/// transaction, `ROWS_PER_INSERT` rows per statement, with revisions 1..=n, and sets the
/// entries revision to n; then `ANALYZE`.
async fn fill_postgres(url: &str, entries: &[Entry]) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    for (c, chunk) in entries.chunks(ROWS_PER_INSERT).enumerate() {
        let n = chunk.len();
        let (mut ids, mut spiffe_ids, mut parents, mut selectors) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut triples, mut revisions, mut data) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (i, e) in chunk.iter().enumerate() {
            assert_eq!(e.selectors.len(), 1, "one selector per bench entry");
            let mut stored = e.clone();
            stored.revision = (c * ROWS_PER_INSERT + i + 1) as u64;
            ids.push(stored.id.clone());
            spiffe_ids.push(stored.spiffe_id.clone());
            parents.push(stored.parent_id.clone());
            let s = &stored.selectors[0];
            selectors.push(format!("{}:{}", s.r#type, s.value));
            triples.push(tessera_server::datastore::triple_key(&stored));
            revisions.push(stored.revision as i64);
            data.push(stored.encode_to_vec());
        }
        sqlx::query(
            "INSERT INTO entries (id, spiffe_id, parent_id, selectors, triple, revision, data) \
             SELECT id, spiffe_id, parent_id, ARRAY[selector], triple, revision, data \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], \
                         $6::bigint[], $7::bytea[]) \
               AS t(id, spiffe_id, parent_id, selector, triple, revision, data)",
        )
        .bind(ids)
        .bind(spiffe_ids)
        .bind(parents)
        .bind(selectors)
        .bind(triples)
        .bind(revisions)
        .bind(data)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE entries_revision SET revision = $1 WHERE singleton")
        .bind(entries.len() as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE entries")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// The agent, its node selectors and the server ID of every measurement.
struct Agent {
    id: SpiffeId,
    node: [Selector; 2],
    server: SpiffeId,
}

impl Agent {
    fn new() -> Self {
        let td = TrustDomain::new(TD).unwrap();
        Self {
            id: SpiffeId::parse(&id("/tessera/agent/bench")).unwrap(),
            node: [
                Selector::parse("k8s:cluster:bench").unwrap(),
                Selector::parse("k8s:node:bench-1").unwrap(),
            ],
            server: server_id(&td),
        }
    }

    fn population(&self, total: usize) -> Vec<Entry> {
        population(total, self.id.as_str(), self.server.as_str())
    }
}

#[derive(Debug)]
struct Row {
    total: usize,
    found: usize,
    fill: Duration,
    p50: Duration,
    p99: Duration,
}

/// A filled store and how long filling it took.
struct Filled<S> {
    store: S,
    total: usize,
    fill: Duration,
}

async fn sync_once(store: &impl EntryStore, agent: &Agent, now: SystemTime) -> (usize, Duration) {
    let t = Instant::now();
    let got = authorized_entries(store, &agent.id, &agent.node, &agent.server, now)
        .await
        .unwrap();
    (got.len(), t.elapsed())
}

/// Times `authorized_entries` for `agent` on both stores, interleaved (small, large, then
/// large, small, …) so whatever else the machine runs weighs on both alike.
async fn compare<S: EntryStore>(
    small: &Filled<S>,
    large: &Filled<S>,
    agent: &Agent,
    runs: usize,
) -> (Row, Row) {
    let now = SystemTime::now();
    let mut found = [0; 2];
    for _ in 0..WARMUP {
        found[0] = sync_once(&small.store, agent, now).await.0;
        found[1] = sync_once(&large.store, agent, now).await.0;
    }
    assert_eq!(found[0], found[1], "the same authorized set in both stores");
    let mut times: [Vec<Duration>; 2] = [Vec::with_capacity(runs), Vec::with_capacity(runs)];
    for run in 0..runs {
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let store = if i == 0 { &small.store } else { &large.store };
            let (n, took) = sync_once(store, agent, now).await;
            assert_eq!(n, found[i]);
            times[i].push(took);
        }
    }
    let [mut a, mut b] = times;
    let row = |filled: &Filled<S>, times: &mut Vec<Duration>, found: usize| {
        times.sort();
        Row {
            total: filled.total,
            found,
            fill: filled.fill,
            p50: times[runs / 2],
            p99: times[runs * 99 / 100],
        }
    };
    (row(small, &mut a, found[0]), row(large, &mut b, found[1]))
}

async fn sled_store(dir: &std::path::Path, agent: &Agent, total: usize) -> Filled<SledStore> {
    let store = SledStore::open(dir).unwrap();
    let started = Instant::now();
    fill(&store, agent.population(total)).await;
    let fill = started.elapsed();
    assert_eq!(store.count_entries().await.unwrap(), total as u64);
    Filled { store, total, fill }
}

async fn postgres_store(db: &TestDatabase, agent: &Agent, total: usize) -> Filled<PgStore> {
    let settings = PgSettings {
        connection_string: Zeroizing::new(db.url.clone()),
        ro_connection_string: None,
        max_connections: 4,
        client_cache_ttl: std::time::Duration::ZERO,
    };
    let store = PgStore::open(&settings).await.unwrap();
    let entries = agent.population(total);
    let started = Instant::now();
    fill_postgres(&db.url, &entries).await;
    let fill = started.elapsed();
    assert_eq!(store.count_entries().await.unwrap(), total as u64);
    assert_eq!(store.entries_revision().await.unwrap(), total as u64);
    // The stored uniqueness key is the server's: the same triple under a new ID is refused.
    let mut duplicate = entries[0].clone();
    duplicate.id = new_entry_id().unwrap();
    match store.create_entry(duplicate).await {
        Err(DatastoreError::AlreadyExists(_)) => {}
        other => panic!("a seeded triple was not recognised by PgStore: {other:?}"),
    }
    Filled { store, total, fill }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn report(backend: &str, small: &Row, large: &Row, runs: usize, target: bool) {
    println!();
    println!(
        "authorized_entries for one agent ({runs} runs per store after {WARMUP} warm-up, the two stores interleaved, {backend})"
    );
    println!(
        "{:>9} | {:>10} | {:>10} | {:>10} | {:>10}",
        "entries", "authorized", "p50", "p99", "fill"
    );
    println!("{}", "-".repeat(62));
    for r in [small, large] {
        println!(
            "{:>9} | {:>10} | {:>10} | {:>10} | {:>8.2} s",
            r.total,
            r.found,
            ms(r.p50),
            ms(r.p99),
            r.fill.as_secs_f64()
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let p50 = ratio(large.p50, small.p50);
    println!(
        "ratio {}/{}: p50 {p50:.2}x, p99 {:.2}x (O(authorized) means ~1x; O(all) would be ~{}x)",
        large.total,
        small.total,
        ratio(large.p99, small.p99),
        large.total / small.total
    );
    if target {
        println!(
            "target (issue 10, PostgreSQL): p50 ratio <= {TARGET_RATIO}x   {}",
            if p50 <= TARGET_RATIO { "met" } else { "MISSED" }
        );
    }
}

fn main() {
    let backends = std::env::var("SYNC_BENCH_BACKENDS").unwrap_or_else(|_| "sled,postgres".into());
    let large: usize = env_or("SYNC_BENCH_LARGE", pick(100_000, 10_000));
    let runs: usize = env_or("SYNC_BENCH_RUNS", pick(1000, 100)).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let agent = Agent::new();
    let mut results = Results::new("sync");
    let mut reports = Vec::new();
    for backend in backends.split(',').map(str::trim) {
        let rows = match backend {
            "sled" => runtime.block_on(async {
                let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
                let small = sled_store(d1.path(), &agent, SMALL).await;
                let large = sled_store(d2.path(), &agent, large).await;
                compare(&small, &large, &agent, runs).await
            }),
            "postgres" => {
                // One database per size; created and dropped outside the runtime.
                let (db_small, db_large) = (TestDatabase::create(), TestDatabase::create());
                let rows = runtime.block_on(async {
                    let small = postgres_store(&db_small, &agent, SMALL).await;
                    let large = postgres_store(&db_large, &agent, large).await;
                    let rows = compare(&small, &large, &agent, runs).await;
                    small.store.close().await;
                    large.store.close().await;
                    rows
                });
                drop((db_small, db_large));
                rows
            }
            other => panic!("SYNC_BENCH_BACKENDS: unknown backend {other:?} (sled, postgres)"),
        };
        reports.push((backend.to_owned(), rows));
    }
    for (backend, (small, large)) in &reports {
        let name = if backend == "postgres" {
            "PostgreSQL"
        } else {
            "sled"
        };
        report(name, small, large, runs, backend == "postgres");
        record(&mut results, name, small, large);
    }
}

const SYNC_PLOT: Plot = Plot {
    id: "sync_vs_entries",
    title: "Agent sync (authorized_entries, 100 authorized) vs entries in the store",
    x: "entries in the store",
    y: "latency (ms)",
    log_x: true,
    log_y: false,
};

/// Picks a quantile out of a row.
type Quantile = fn(&Row) -> Duration;

/// The figures and plot points for the report (`tests/bench`): the large store next to the
/// small one (the target is their ratio).
fn record(results: &mut Results, backend: &str, small: &Row, large: &Row) {
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    let quantiles: [(&str, Quantile); 2] = [("p50", |r| r.p50), ("p99", |r| r.p99)];
    for (label, pick) in quantiles {
        results.versus(
            &format!("{backend} sync {label}, {} entries", large.total),
            millis(pick(large)),
            "ms",
            &format!("{} entries", small.total),
            millis(pick(small)),
        );
        for row in [small, large] {
            results.point(
                &SYNC_PLOT,
                &format!("{backend} {label}"),
                row.total as f64,
                millis(pick(row)),
            );
        }
    }
}
