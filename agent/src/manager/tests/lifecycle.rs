//! Attest, sync, issue, rotate, refuse: the manager against the fake server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::SystemClock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::fake::{FakeServer, FakeState, SERVER_ID, TOKEN, serve};
use crate::attestor::node::JoinTokenAttestor;
use crate::config::{SecretString, ServerAddress};
use crate::manager::{AgentState, Manager, ManagerConfig, ManagerError};
use crate::store::Store;
use crate::testing::TestCa;
use crate::x509::verify_svid_chain;

const AGENT_ID: &str = "spiffe://example.org/tessera/agent/join_token/0123456789abcdef";

fn manager(dir: &Path, server: &FakeServer, state: &FakeState, token: &str) -> Manager {
    let config = ManagerConfig {
        trust_domain: "example.org".parse().unwrap(),
        server_addresses: vec![
            // An address nobody listens on is skipped.
            ServerAddress::parse("127.0.0.1:1").unwrap(),
            ServerAddress::parse(&server.addr.to_string()).unwrap(),
        ],
        sync_interval: Duration::from_millis(100),
        bootstrap_bundle: Some(state.ca.bundle()),
        insecure_bootstrap: false,
        push: false,
        x509_svid_batch_size: 100,
    };
    Manager::new(
        config,
        Box::new(JoinTokenAttestor::new(SecretString::new(token.into()))),
        Store::open(dir).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// The first state the manager publishes (within 20 s).
async fn first_state(updates: &mut watch::Receiver<Option<Arc<AgentState>>>) -> Arc<AgentState> {
    tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .expect("a state is published")
        .unwrap()
        .clone()
        .unwrap()
}

async fn fixture() -> (Arc<FakeState>, FakeServer) {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    state.put_entry("e1", "web");
    state.put_entry("e2", "db");
    state.put_entry("e3", "cache");
    let server = serve(state.clone(), &state.ca, SERVER_ID).await;
    (state, server)
}

#[tokio::test]
async fn attests_syncs_and_holds_svids_presenting_its_own_svid() {
    let (state, server) = fixture().await;
    let tmp = tempfile::tempdir().unwrap();
    let m = manager(tmp.path(), &server, &state, TOKEN);
    let mut updates = m.subscribe();
    let api = m.api();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));

    let snapshot = first_state(&mut updates).await;
    assert_eq!(snapshot.agent_id, AGENT_ID);
    assert_eq!(snapshot.bundle, state.ca.bundle());
    let ids: Vec<_> = snapshot
        .entries
        .iter()
        .map(|c| c.entry.id.as_str())
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    let now = SystemTime::now();
    for cached in &snapshot.entries {
        let svid = cached.svid.as_ref().expect("every entry has an SVID");
        assert_eq!(svid.spiffe_id, cached.entry.spiffe_id);
        verify_svid_chain(&svid.cert_chain, &snapshot.bundle, &svid.spiffe_id, now).unwrap();
        assert!(!format!("{svid:?}").contains("private_key_pkcs8: ["));
    }
    assert_eq!(state.attests.load(Ordering::SeqCst), 1);
    let peers = state.sync_peers.lock().unwrap().clone();
    assert!(!peers.is_empty());
    assert!(
        peers.iter().all(|p| p.as_deref() == Some(AGENT_ID)),
        "{peers:?}"
    );

    // The JWT handle rides the same mTLS connection.
    let jwt = api.new_jwt_svid("e1", vec!["aud".into()]).await.unwrap();
    assert_eq!((jwt.spiffe_id.as_str(), jwt.token.as_str()), ("e1", "aud"));

    // Later rounds do not re-issue fresh SVIDs: wait until two more syncs reached the
    // server (so the rounds really ran), then nothing new was issued.
    let issued = state.issued.load(Ordering::SeqCst);
    let syncs = state.sync_peers.lock().unwrap().len();
    tokio::time::timeout(Duration::from_secs(20), async {
        while state.sync_peers.lock().unwrap().len() < syncs + 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("two more sync rounds ran");
    assert_eq!(state.issued.load(Ordering::SeqCst), issued);

    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(tmp.path().join("agent_svid.pem").exists());
    assert!(tmp.path().join("bundle.pb").exists());

    // A restart reuses the persisted SVID: no second attestation.
    let m = manager(tmp.path(), &server, &state, TOKEN);
    let mut updates = m.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.attests.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn entry_changes_removals_and_taint_drive_reissuance() {
    let (state, server) = fixture().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut m = manager(tmp.path(), &server, &state, TOKEN);
    let state_rx = m.subscribe();
    m.round(SystemTime::now()).await.unwrap();
    assert_eq!(state.issued.load(Ordering::SeqCst), 3);
    let first = state_rx.borrow().clone().unwrap();

    // Nothing changed: nothing issued, nothing republished.
    m.round(SystemTime::now()).await.unwrap();
    assert_eq!(state.issued.load(Ordering::SeqCst), 3);
    assert!(Arc::ptr_eq(&first, state_rx.borrow().as_ref().unwrap()));

    // e2 changes, e3 goes away, e4 arrives.
    state.put_entry("e2", "db-v2");
    state.remove_entry("e3");
    state.put_entry("e4", "queue");
    m.round(SystemTime::now()).await.unwrap();
    assert_eq!(state.issued.load(Ordering::SeqCst), 5);
    let snap = state_rx.borrow().clone().unwrap();
    let got: Vec<_> = snap
        .entries
        .iter()
        .map(|c| {
            (
                c.entry.id.as_str(),
                c.svid.as_ref().unwrap().spiffe_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("e1", "spiffe://example.org/web"),
            ("e2", "spiffe://example.org/db-v2"),
            ("e4", "spiffe://example.org/queue"),
        ]
    );
    assert_eq!(snap.entries[0].svid, first.entries[0].svid);

    // Past half-life (judged at a later `now`), everything rotates.
    let later = SystemTime::now() + Duration::from_secs(36 * 60);
    m.round(later).await.unwrap();
    assert_eq!(state.issued.load(Ordering::SeqCst), 8);
    assert_eq!(
        state.renewals.load(Ordering::SeqCst),
        1,
        "the agent SVID renews too"
    );

    // Tainting the CA re-issues every SVID it signed and renews the agent.
    state.tainted.store(true, Ordering::SeqCst);
    m.round(SystemTime::now()).await.unwrap();
    assert_eq!(state.issued.load(Ordering::SeqCst), 11);
    m.round(SystemTime::now()).await.unwrap();
    assert_eq!(state.renewals.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refuses_a_server_with_the_wrong_spiffe_id() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    let server = serve(
        state.clone(),
        &state.ca,
        "spiffe://example.org/not-the-server",
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let mut m = manager(tmp.path(), &server, &state, TOKEN);
    let err = m.round(SystemTime::now()).await.unwrap_err();
    assert!(matches!(err, ManagerError::Connect(_)), "{err}");
    assert!(!err.is_fatal());
    assert_eq!(state.attests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn refuses_a_server_from_another_ca() {
    let state = FakeState::new(TestCa::new("example.org", SystemTime::now()));
    let rogue = TestCa::new("example.org", SystemTime::now());
    let server = serve(state.clone(), &rogue, SERVER_ID).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut m = manager(tmp.path(), &server, &state, TOKEN);
    let err = m.round(SystemTime::now()).await.unwrap_err();
    assert!(matches!(err, ManagerError::Connect(_)), "{err}");
    assert_eq!(state.attests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_join_token_stops_the_agent() {
    let (state, server) = fixture().await;
    let tmp = tempfile::tempdir().unwrap();
    let m = manager(tmp.path(), &server, &state, "used-token");
    let err = m.run(CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, ManagerError::AttestationRefused(_)), "{err}");
    assert!(
        err.to_string().contains("tessera-server token generate"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("used-token"),
        "never print the token: {err}"
    );
}

#[tokio::test]
async fn eviction_with_a_join_token_is_fatal_and_clear() {
    let (state, server) = fixture().await;
    let tmp = tempfile::tempdir().unwrap();
    let m = manager(tmp.path(), &server, &state, TOKEN);
    let mut updates = m.subscribe();
    let task = tokio::spawn(m.run(CancellationToken::new()));
    tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap();
    state.deny.store(true, Ordering::SeqCst);
    let err = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ManagerError::JoinTokenSpent), "{err}");
    assert!(
        err.to_string()
            .contains("join tokens are single-use: generate a new token"),
        "{err}"
    );
    // The refused SVID is forgotten.
    assert!(!tmp.path().join("agent_svid.key").exists());
}

#[test]
fn backoff_doubles_up_to_a_minute() {
    use crate::manager::next_backoff;
    let mut wait = Duration::from_secs(5);
    let mut seen = Vec::new();
    for _ in 0..6 {
        wait = next_backoff(wait);
        seen.push(wait.as_secs());
    }
    assert_eq!(seen, [10, 20, 40, 60, 60, 60]);
}

#[tokio::test]
async fn a_psat_agent_attests_again_after_eviction() {
    let (state, server) = fixture().await;
    let tmp = tempfile::tempdir().unwrap();
    let token_path = tmp.path().join("sa-token");
    std::fs::write(&token_path, "header.claims.signature").unwrap();
    let config = ManagerConfig {
        trust_domain: "example.org".parse().unwrap(),
        server_addresses: vec![ServerAddress::parse(&server.addr.to_string()).unwrap()],
        sync_interval: Duration::from_millis(50),
        bootstrap_bundle: Some(state.ca.bundle()),
        insecure_bootstrap: false,
        push: false,
        x509_svid_batch_size: 100,
    };
    let m = Manager::new(
        config,
        Box::new(crate::attestor::node::K8sPsatAttestor::new(
            "prod".into(),
            token_path,
        )),
        Store::open(&tmp.path().join("data")).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let mut updates = m.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(20), updates.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.attests.load(Ordering::SeqCst), 1);

    state.deny.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(20), async {
        while state.attests.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the agent attests again");
    state.deny.store(false, Ordering::SeqCst);
    let before = state.sync_peers.lock().unwrap().len();
    tokio::time::timeout(Duration::from_secs(20), async {
        while state.sync_peers.lock().unwrap().len() < before + 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("syncing resumes");
    assert!(!task.is_finished());
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn issuance_starts_while_the_sync_is_still_paging() {
    let (state, server) = fixture().await;
    state.hold_last_page.store(true, Ordering::SeqCst);
    let tmp = tempfile::tempdir().unwrap();
    let mut m = manager(tmp.path(), &server, &state, TOKEN);
    m.config.x509_svid_batch_size = 1;
    let mut updates = m.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(m.run(shutdown.clone()));
    let snapshot = first_state(&mut updates).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(snapshot.entries.iter().all(|c| c.svid.is_some()));
    // One entry per page: the first page's SVID was requested before the last page was
    // asked for (the fake holds that page until then).
    let calls = state.calls.lock().unwrap().clone();
    let first_batch = calls.iter().position(|c| c == "batch").unwrap();
    let last_page = calls.iter().position(|c| c == "sync 2").unwrap();
    assert!(first_batch < last_page, "{calls:?}");
}
