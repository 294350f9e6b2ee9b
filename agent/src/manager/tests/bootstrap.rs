//! Trusting the server the first time: a configured bundle, or (dev only) insecure
//! bootstrap, which covers the first attestation and nothing after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::SystemClock;

use super::fake::{FakeServer, FakeState, SERVER_ID, TOKEN, serve};
use crate::attestor::node::JoinTokenAttestor;
use crate::config::{SecretString, ServerAddress};
use crate::manager::{Manager, ManagerConfig, ManagerError};
use crate::store::Store;
use crate::testing::TestCa;

fn insecure_manager(
    dir: &std::path::Path,
    server: Option<&FakeServer>,
    insecure: bool,
) -> Result<Manager, ManagerError> {
    let address = server.map_or("127.0.0.1:1".to_string(), |s| s.addr.to_string());
    Manager::new(
        ManagerConfig {
            trust_domain: "example.org".parse().unwrap(),
            server_addresses: vec![ServerAddress::parse(&address).unwrap()],
            sync_interval: Duration::from_millis(100),
            bootstrap_bundle: None,
            insecure_bootstrap: insecure,
            push: false,
            x509_svid_batch_size: 100,
        },
        Box::new(JoinTokenAttestor::new(SecretString::new(TOKEN.into()))),
        Store::open(dir).unwrap(),
        Arc::new(SystemClock),
    )
}

#[test]
fn without_a_bundle_or_insecure_bootstrap_the_agent_does_not_start() {
    let tmp = tempfile::tempdir().unwrap();
    let err = insecure_manager(tmp.path(), None, false).unwrap_err();
    assert!(matches!(err, ManagerError::NoTrustBundle), "{err}");
    assert!(err.is_fatal());

    // A persisted bundle is enough.
    let ca = TestCa::new("example.org", SystemTime::now());
    Store::open(tmp.path())
        .unwrap()
        .save_bundle(&ca.bundle())
        .unwrap();
    insecure_manager(tmp.path(), None, false).unwrap();
}

#[tokio::test]
async fn insecure_bootstrap_then_the_received_bundle_is_enforced() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    state.put_entry("e1", "web");
    // The server presents a certificate the agent could never verify...
    let rogue = TestCa::new("example.org", SystemTime::now());
    let server = serve(state.clone(), &rogue, SERVER_ID).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut m = insecure_manager(tmp.path(), Some(&server), true).unwrap();

    // ...which insecure bootstrap lets through for Attest only.
    let err = m.round(SystemTime::now()).await.unwrap_err();
    assert_eq!(state.attests.load(Ordering::SeqCst), 1);
    assert!(matches!(err, ManagerError::Connect(_)), "{err}");
    assert_eq!(
        Store::open(tmp.path())
            .unwrap()
            .load_bundle()
            .unwrap()
            .unwrap(),
        state.ca.bundle(),
        "the bundle from Attest is kept"
    );
    // Every later connection verifies the server against it.
    let err = m.round(SystemTime::now()).await.unwrap_err();
    assert!(matches!(err, ManagerError::Connect(_)), "{err}");
    assert_eq!(state.attests.load(Ordering::SeqCst), 1);
    assert!(state.sync_peers.lock().unwrap().is_empty());
}

#[tokio::test]
async fn insecure_bootstrap_against_an_honest_server_works_end_to_end() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    state.put_entry("e1", "web");
    let server = serve(state.clone(), &state.ca, SERVER_ID).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut m = insecure_manager(tmp.path(), Some(&server), true).unwrap();
    let updates = m.subscribe();
    m.round(SystemTime::now()).await.unwrap();
    let snap = updates.borrow().clone().unwrap();
    assert_eq!(snap.entries.len(), 1);
    assert!(snap.entries[0].svid.is_some());
}
