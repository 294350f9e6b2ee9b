//! One watcher over a real sled store and CA: it signals its agent's changes only, follows
//! the agent's growing interest, signals bundle changes, and ends a banned agent's stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::{Clock, SystemClock};
use tessera_proto::wire::tessera::agent::v1::WatchChangesResponse;
use tessera_proto::wire::tessera::types::v1::{AttestedAgent, Entry};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use super::Watcher;
use crate::ca::{CaConfig, CaManager, KeyType, Kind};
use crate::datastore::{AgentStore, EntryStore, SledStore};

const AGENT: &str = "spiffe://example.org/tessera/agent/join_token/a";
const OTHER: &str = "spiffe://example.org/tessera/agent/join_token/b";

async fn next(
    rx: &mut mpsc::Receiver<Result<WatchChangesResponse, Status>>,
) -> WatchChangesResponse {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a signal")
        .expect("the stream is open")
        .expect("not an error")
}

async fn open_ca(
    store: &SledStore,
    clock: &Arc<dyn Clock>,
    dir: &std::path::Path,
) -> Arc<CaManager<SledStore>> {
    let hour = Duration::from_secs(3600);
    let config = CaConfig {
        trust_domain: "example.org".parse().unwrap(),
        server_id: "test".into(),
        key_type: KeyType::EcP256,
        jwt_key_type: KeyType::EcP256,
        oauth_key_type: KeyType::EcP256,
        ca_ttl: 24 * hour,
        x509_svid_ttl: hour,
        jwt_svid_ttl: Duration::from_secs(300),
        refresh_hint: Duration::from_secs(300),
    };
    CaManager::open(
        config,
        store.clone(),
        clock.clone(),
        &dir.join("seal.key"),
        None,
    )
    .await
    .unwrap()
}

async fn create(store: &SledStore, id: &str, spiffe_id: &str, parent: &str) -> u64 {
    store
        .create_entry(Entry {
            id: id.into(),
            spiffe_id: spiffe_id.into(),
            parent_id: parent.into(),
            ..Entry::default()
        })
        .await
        .unwrap()
        .revision
}

type Signals = mpsc::Receiver<Result<WatchChangesResponse, Status>>;

/// A sled store holding the agent, a CA on it, and a running watcher for the agent.
async fn watching(
    dir: &std::path::Path,
    shutdown: &CancellationToken,
) -> (
    SledStore,
    Arc<CaManager<SledStore>>,
    JoinHandle<()>,
    Signals,
) {
    let store = SledStore::open(&dir.join("db")).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ca = open_ca(&store, &clock, dir).await;
    store
        .put_agent(&AttestedAgent {
            spiffe_id: AGENT.into(),
            ..AttestedAgent::default()
        })
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(super::SIGNAL_BUFFER);
    let watcher = Watcher {
        store: store.clone(),
        agent_id: AGENT.parse().unwrap(),
        server_id: "spiffe://example.org/tessera/server".parse().unwrap(),
        clock,
        changes: store.changes().subscribe(),
        ca: ca.subscribe(),
        signals: tx,
        shutdown: shutdown.clone(),
    };
    let task = tokio::spawn(watcher.run());
    (store, ca, task, rx)
}

#[tokio::test]
async fn signals_follow_the_agents_interest_and_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let (store, ca, task, mut rx) = watching(dir.path(), &shutdown).await;

    let first = next(&mut rx).await;
    assert!(
        first.entries && first.bundles,
        "sync everything at first: {first:?}"
    );

    // Another agent's entry is filtered out: the next signal is for this agent's entry.
    create(&store, "other", "spiffe://example.org/b-web", OTHER).await;
    let mine = create(&store, "mine", "spiffe://example.org/web", AGENT).await;
    let signal = next(&mut rx).await;
    assert_eq!((signal.entries_revision, signal.entries), (mine, true));

    // A child of the agent's entry concerns it too (the interest grew with "mine").
    let child = create(
        &store,
        "child",
        "spiffe://example.org/web/side",
        "spiffe://example.org/web",
    )
    .await;
    assert_eq!(next(&mut rx).await.entries_revision, child);

    // A new authority changes the published bundle.
    ca.prepare(Kind::X509).await.unwrap();
    let bundle = next(&mut rx).await;
    assert!(bundle.bundles, "{bundle:?}");

    // Banned: the next change that concerns it ends the stream.
    let mut agent = store.get_agent(AGENT).await.unwrap().unwrap();
    agent.banned = true;
    store.put_agent(&agent).await.unwrap();
    create(&store, "late", "spiffe://example.org/late", AGENT).await;
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
        {
            Some(Ok(_)) => continue,
            Some(Err(status)) => break status,
            None => panic!("ended without a status"),
        }
    };
    assert_eq!(ended.code(), Code::PermissionDenied);
    task.await.unwrap();
    shutdown.cancel();
}

#[tokio::test]
async fn shutdown_ends_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let (_store, _ca, task, mut rx) = watching(dir.path(), &shutdown).await;
    next(&mut rx).await;
    shutdown.cancel();
    task.await.unwrap();
    assert!(rx.recv().await.is_none(), "the stream ends");
}
