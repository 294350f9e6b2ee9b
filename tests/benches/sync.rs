//! How `authorized_entries` scales with the size of the store.
//!
//! Builds two sled stores (1k and 100k entries) where one agent is authorized for the same
//! 100 entries (direct children, a node alias and its children, and nested descendants),
//! then times `authorized_entries` for that agent and prints p50/p99 and the 100k/1k ratio.
//! No timed assertions: the numbers are for people. Run with
//! `cargo bench -p tessera-tests --bench sync`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use tessera_proto::identity::{Selector, SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector as WireSelector};
use tessera_server::datastore::{EntryStore, SledStore};
use tessera_server::registration::{authorized_entries, new_entry_id, server_id};
use tokio::task::JoinSet;

const TD: &str = "bench.org";
/// Entries the benchmarked agent is authorized for.
const AUTHORIZED: usize = 100;
/// Node aliases that do not match the agent's node (present in both stores).
const OTHER_ALIASES: usize = 50;
/// Concurrent creates per batch (their flushes coalesce).
const BATCH: usize = 1000;
const WARMUP: usize = 20;
const RUNS: usize = 1000;

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

#[derive(Debug)]
struct Row {
    total: usize,
    found: usize,
    fill: Duration,
    p50: Duration,
    p99: Duration,
}

async fn measure(total: usize) -> Row {
    let td = TrustDomain::new(TD).unwrap();
    let server = server_id(&td);
    let agent = SpiffeId::parse(&id("/tessera/agent/bench")).unwrap();
    let node = [
        Selector::parse("k8s:cluster:bench").unwrap(),
        Selector::parse("k8s:node:bench-1").unwrap(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let started = Instant::now();
    fill(&store, population(total, agent.as_str(), server.as_str())).await;
    let fill = started.elapsed();
    assert_eq!(store.count_entries().await.unwrap(), total as u64);

    let now = SystemTime::now();
    let mut found = 0;
    for _ in 0..WARMUP {
        found = authorized_entries(&store, &agent, &node, &server, now)
            .await
            .unwrap()
            .len();
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let got = authorized_entries(&store, &agent, &node, &server, now)
            .await
            .unwrap();
        times.push(t.elapsed());
        assert_eq!(got.len(), found);
    }
    times.sort();
    Row {
        total,
        found,
        fill,
        p50: times[RUNS / 2],
        p99: times[RUNS * 99 / 100],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let small = measure(1_000).await;
    let large = measure(100_000).await;
    println!();
    println!("authorized_entries for one agent ({RUNS} runs after {WARMUP} warm-up, sled)");
    println!(
        "{:>9} | {:>10} | {:>10} | {:>10} | {:>10}",
        "entries", "authorized", "p50", "p99", "fill"
    );
    println!("{}", "-".repeat(62));
    for r in [&small, &large] {
        println!(
            "{:>9} | {:>10} | {:>10} | {:>10} | {:>8.1} s",
            r.total,
            r.found,
            ms(r.p50),
            ms(r.p99),
            r.fill.as_secs_f64()
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio 100k/1k: p50 {:.2}x, p99 {:.2}x (O(authorized) means ~1x; O(all) would be ~100x)",
        ratio(large.p50, small.p50),
        ratio(large.p99, small.p99)
    );
}
