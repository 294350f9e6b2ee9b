//! Push against the fake server: a signal makes the manager sync at once (its periodic
//! sync is an hour away); a server without push is asked once and the agent polls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use super::fake::{FakeServer, FakeState, SERVER_ID, TOKEN, serve};
use crate::attestor::node::JoinTokenAttestor;
use crate::config::{SecretString, ServerAddress};
use crate::manager::{AgentState, Manager, ManagerConfig};
use crate::store::Store;
use crate::testing::TestCa;

fn manager(
    dir: &std::path::Path,
    server: &FakeServer,
    state: &FakeState,
    sync: Duration,
) -> Manager {
    let config = ManagerConfig {
        trust_domain: "example.org".parse().unwrap(),
        server_addresses: vec![ServerAddress::parse(&server.addr.to_string()).unwrap()],
        sync_interval: sync,
        bootstrap_bundle: Some(state.ca.bundle()),
        insecure_bootstrap: false,
        push: true,
        x509_svid_batch_size: 100,
    };
    Manager::new(
        config,
        Box::new(JoinTokenAttestor::new(SecretString::new(TOKEN.into()))),
        Store::open(dir).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn ids(state: &AgentState) -> Vec<String> {
    state.entries.iter().map(|c| c.entry.id.clone()).collect()
}

#[tokio::test]
async fn a_pushed_signal_syncs_now_instead_of_at_the_next_poll() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    state.push.store(true, Ordering::SeqCst);
    state.put_entry("e1", "web");
    let server = serve(state.clone(), &state.ca, SERVER_ID).await;
    let tmp = tempfile::tempdir().unwrap();
    let m = manager(tmp.path(), &server, &state, Duration::from_secs(3600));
    let mut updates = m.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));
    let first = tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(ids(&first), ["e1"]);
    // The stream is open once the watcher called; then a change and its signal.
    tokio::time::timeout(Duration::from_secs(20), async {
        while state.watches.load(Ordering::SeqCst) == 0 || state.signals.receiver_count() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the agent opened WatchChanges");
    state.put_entry("e2", "db");
    state.signals.send(()).unwrap();
    let pushed = tokio::time::timeout(
        Duration::from_secs(20),
        updates.wait_for(|s| s.as_ref().is_some_and(|s| s.entries.len() == 2)),
    )
    .await
    .expect("the signal caused a sync long before the hourly one")
    .unwrap()
    .clone()
    .unwrap();
    assert_eq!(ids(&pushed), ["e1", "e2"]);
    assert!(pushed.entries.iter().all(|c| c.svid.is_some()));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_server_without_push_is_asked_once_and_the_agent_polls() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    state.put_entry("e1", "web");
    let server = serve(state.clone(), &state.ca, SERVER_ID).await;
    let tmp = tempfile::tempdir().unwrap();
    let m = manager(tmp.path(), &server, &state, Duration::from_millis(100));
    let mut updates = m.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap();
    state.put_entry("e2", "db");
    tokio::time::timeout(
        Duration::from_secs(20),
        updates.wait_for(|s| s.as_ref().is_some_and(|s| s.entries.len() == 2)),
    )
    .await
    .expect("polling still delivers")
    .unwrap();
    // Several rounds ran on one connection: the unsupported stream was not retried.
    let syncs = state.sync_peers.lock().unwrap().len();
    tokio::time::timeout(Duration::from_secs(20), async {
        while state.sync_peers.lock().unwrap().len() < syncs + 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(state.watches.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
