//! Grants: rotation, reuse detection, lifetimes, client binding, live checks, revocation,
//! one winner among concurrent refreshes, and hashes only on disk.

use std::time::{Duration, SystemTime};

use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::*;
use crate::datastore::memory::MemoryStore;
use crate::datastore::{GrantStore, OAuthClientStore, SledStore, UserRecord, UserStore};

const T0: u64 = 1_800_000_000;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn lifetimes() -> GrantLifetimes {
    GrantLifetimes {
        idle: Duration::from_secs(100),
        absolute: Duration::from_secs(250),
    }
}

fn client(id: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into()],
        auth_method: "none".into(),
        public: true,
        enabled: true,
        ..Default::default()
    }
}

async fn seed<S: UserStore + OAuthClientStore>(store: &S) {
    for u in ["alice", "bob"] {
        store.create_user(&UserRecord::for_test(u)).await.unwrap();
    }
    for c in ["app", "other"] {
        store.create_oauth_client(&client(c), None).await.unwrap();
    }
}

fn start(user: &str, client: &str) -> GrantStart {
    GrantStart {
        user_id: user.into(),
        client_id: client.into(),
        scopes: vec!["openid".into(), "profile".into()],
        auth_time: (T0 - 5) as i64,
        amr: vec!["pwd".into()],
    }
}

async fn sled(dir: &std::path::Path) -> (Grants<SledStore>, SledStore) {
    let store = SledStore::open(dir).unwrap();
    seed(&store).await;
    (Grants::new(store.clone(), lifetimes()), store)
}

async fn memory() -> (Grants<MemoryStore>, MemoryStore) {
    let store = MemoryStore::default();
    seed(&store).await;
    (Grants::new(store.clone(), lifetimes()), store)
}

#[test]
fn tokens_are_256_bit_base64url_and_redacted() {
    let t = token::new_token().unwrap();
    assert_eq!(t.expose().len(), 43);
    assert!(token::plausible(t.expose()));
    assert_ne!(t, token::new_token().unwrap());
    assert!(!format!("{t:?}").contains(t.expose()));
}

#[tokio::test]
async fn every_use_rotates_and_carries_the_grant() {
    let (grants, _) = memory().await;
    let (id, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (g, t1) = grants.refresh("app", t0.expose(), at(10)).await.unwrap();
    assert_ne!(t0, t1);
    assert_eq!(g.grant_id, id);
    assert_eq!(g.user_id, "alice");
    assert_eq!(g.client_id, "app");
    assert_eq!(g.scopes, vec!["openid".to_string(), "profile".into()]);
    assert_eq!(g.amr, vec!["pwd".to_string()]);
    let (_, t2) = grants.refresh("app", t1.expose(), at(20)).await.unwrap();
    assert_ne!(t1, t2);
}

#[tokio::test]
async fn reuse_of_a_rotated_token_revokes_the_whole_family() {
    let (grants, store) = memory().await;
    let (id, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, t1) = grants.refresh("app", t0.expose(), at(10)).await.unwrap();
    let (_, t2) = grants.refresh("app", t1.expose(), at(20)).await.unwrap();
    // The attacker replays the first token.
    let replay = grants.refresh("app", t0.expose(), at(30)).await;
    assert_eq!(replay.err(), Some(RefreshError::ReuseDetected));
    // The newest token of the family stopped working too.
    let newest = grants.refresh("app", t2.expose(), at(31)).await;
    assert_eq!(newest.err(), Some(RefreshError::InvalidGrant));
    assert!(store.get_grant(&id).await.unwrap().is_none());
    // An unrelated family is untouched.
    let (_, other) = grants.start(start("alice", "app"), at(40)).await.unwrap();
    assert!(grants.refresh("app", other.expose(), at(41)).await.is_ok());
}

/// A user record that cannot be read fails a refresh where the user is checked, after the
/// token's own checks: a reused token still revokes its family first.
#[tokio::test]
async fn a_reused_token_revokes_its_family_even_when_the_user_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let (grants, store) = sled(dir.path()).await;
    let (id, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, t1) = grants.refresh("app", t0.expose(), at(10)).await.unwrap();
    store.corrupt_user_record("alice").unwrap();
    let current = grants.refresh("app", t1.expose(), at(20)).await;
    assert_eq!(
        current.err(),
        Some(RefreshError::Unavailable(
            "corrupt record: user record: expected ident at line 1 column 2".into()
        ))
    );
    assert!(store.get_grant(&id).await.unwrap().is_some(), "kept so far");
    let replay = grants.refresh("app", t0.expose(), at(30)).await;
    assert_eq!(replay.err(), Some(RefreshError::ReuseDetected));
    assert!(
        store.get_grant(&id).await.unwrap().is_none(),
        "family revoked"
    );
}

/// A crash between a rotation's first write (the new hash) and its swap of the grant
/// leaves a hash one generation ahead of its grant: refused, and not taken for reuse.
#[tokio::test]
async fn a_token_ahead_of_its_grant_is_invalid_and_not_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let (grants, store) = sled(dir.path()).await;
    let (id, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let ahead = token::new_token().unwrap();
    let record = crate::datastore::RefreshTokenRecord {
        grant_id: id.clone(),
        generation: 1,
    };
    store
        .insert_token_record(&token::hash(ahead.expose()), &record)
        .unwrap();
    let refused = grants.refresh("app", ahead.expose(), at(5)).await;
    assert_eq!(refused.err(), Some(RefreshError::InvalidGrant));
    assert!(store.get_grant(&id).await.unwrap().is_some(), "family kept");
    assert!(grants.refresh("app", t0.expose(), at(6)).await.is_ok());
}

#[tokio::test]
async fn idle_lifetime_counts_from_the_last_rotation() {
    let (grants, _) = memory().await;
    let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, t1) = grants.refresh("app", t0.expose(), at(99)).await.unwrap();
    let (_, t2) = grants.refresh("app", t1.expose(), at(198)).await.unwrap();
    let late = grants.refresh("app", t2.expose(), at(298)).await;
    assert_eq!(late.err(), Some(RefreshError::InvalidGrant));
}

#[tokio::test]
async fn absolute_lifetime_counts_from_the_start() {
    let (grants, _) = memory().await;
    let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, t1) = grants.refresh("app", t0.expose(), at(90)).await.unwrap();
    let (_, t2) = grants.refresh("app", t1.expose(), at(180)).await.unwrap();
    let (_, t3) = grants.refresh("app", t2.expose(), at(249)).await.unwrap();
    // Idle would allow it (1 s since the last rotation), the absolute lifetime does not.
    let past = grants.refresh("app", t3.expose(), at(250)).await;
    assert_eq!(past.err(), Some(RefreshError::InvalidGrant));
}

#[tokio::test]
async fn another_clients_token_is_refused_without_revoking_it() {
    let (grants, _) = memory().await;
    let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let stolen = grants.refresh("other", t0.expose(), at(1)).await;
    assert_eq!(stolen.err(), Some(RefreshError::InvalidGrant));
    assert!(
        !grants
            .revoke_token("other", t0.expose(), at(1))
            .await
            .unwrap()
    );
    assert!(grants.refresh("app", t0.expose(), at(2)).await.is_ok());
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_invalid_grant() {
    let (grants, _) = memory().await;
    let unknown = token::new_token().unwrap();
    for t in [unknown.expose(), "", "short", &"x".repeat(5000)] {
        let r = grants.refresh("app", t, at(0)).await;
        assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    }
}

#[tokio::test]
async fn a_disabled_or_deleted_user_or_client_is_refused_at_once() {
    let (grants, store) = memory().await;
    let (_, t_alice) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, t_bob) = grants.start(start("bob", "other"), at(0)).await.unwrap();
    // Only the records change (no revoke call): the live check alone refuses.
    let mut alice = store.get_user("alice").await.unwrap().unwrap();
    alice.disabled = true;
    store.update_user(&alice).await.unwrap();
    let r = grants.refresh("app", t_alice.expose(), at(1)).await;
    assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    let mut other = client("other");
    other.enabled = false;
    store.update_oauth_client(&other).await.unwrap();
    let r = grants.refresh("other", t_bob.expose(), at(1)).await;
    assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    // Deleted.
    let (_, t) = grants.start(start("bob", "app"), at(0)).await.unwrap();
    store.delete_user("bob").await.unwrap();
    let r = grants.refresh("app", t.expose(), at(1)).await;
    assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
}

#[tokio::test]
async fn revoking_a_user_a_client_a_grant_or_a_token() {
    let (grants, store) = memory().await;
    let (_, a1) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let (_, a2) = grants.start(start("alice", "other"), at(0)).await.unwrap();
    let (_, b1) = grants.start(start("bob", "app"), at(0)).await.unwrap();
    let (g4, b2) = grants.start(start("bob", "other"), at(0)).await.unwrap();
    assert_eq!(grants.revoke_user("alice").await.unwrap(), 2);
    for (c, t) in [("app", &a1), ("other", &a2)] {
        let r = grants.refresh(c, t.expose(), at(1)).await;
        assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    }
    assert_eq!(grants.revoke_client("app").await.unwrap(), 1);
    let r = grants.refresh("app", b1.expose(), at(1)).await;
    assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    // The user and client records are still there: the families themselves are gone.
    assert!(store.get_user("alice").await.unwrap().is_some());
    let info = grants.inspect("other", b2.expose(), at(1)).await.unwrap();
    assert_eq!(info.map(|i| i.expires_at), Some((T0 + 250) as i64));
    grants.revoke_grant(&g4).await.unwrap();
    assert_eq!(
        grants.inspect("other", b2.expose(), at(1)).await.unwrap(),
        None
    );

    let (_, t) = grants.start(start("bob", "other"), at(0)).await.unwrap();
    let (_, t1) = grants.refresh("other", t.expose(), at(1)).await.unwrap();
    // A rotated token of the family revokes it too (RFC 7009 asks for the whole grant).
    assert!(
        grants
            .revoke_token("other", t.expose(), at(2))
            .await
            .unwrap()
    );
    let r = grants.refresh("other", t1.expose(), at(3)).await;
    assert_eq!(r.err(), Some(RefreshError::InvalidGrant));
    assert!(
        !grants
            .revoke_token("other", t1.expose(), at(3))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn inspection_is_not_a_use() {
    let (grants, _) = memory().await;
    let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let info = grants
        .inspect("app", t0.expose(), at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.grant.user_id, "alice");
    assert_eq!(
        grants.inspect("other", t0.expose(), at(1)).await.unwrap(),
        None
    );
    let (_, t1) = grants.refresh("app", t0.expose(), at(2)).await.unwrap();
    // A rotated token is inactive but inspecting it does not revoke the family.
    assert_eq!(
        grants.inspect("app", t0.expose(), at(3)).await.unwrap(),
        None
    );
    assert!(grants.refresh("app", t1.expose(), at(4)).await.is_ok());
}

/// N concurrent refreshes of one token on the real store: exactly one new token is issued.
/// The others lose the compare-and-swap (`InvalidGrant`) or, when they look the token up
/// after the winner committed, are reuse (`ReuseDetected`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let (grants, _) = sled(dir.path()).await;
    for round in 0..5 {
        let (_, t0) = grants
            .start(start("alice", "app"), at(round))
            .await
            .unwrap();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (grants, token, barrier) = (grants.clone(), t0.clone(), barrier.clone());
            tasks.spawn(async move {
                barrier.wait().await;
                grants.refresh("app", token.expose(), at(round + 1)).await
            });
        }
        let mut wins = 0;
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                Ok(_) => wins += 1,
                Err(RefreshError::InvalidGrant | RefreshError::ReuseDetected) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

#[tokio::test]
async fn the_memory_store_has_one_winner_too() {
    let (grants, _) = memory().await;
    let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
    let results = futures_join(&grants, &t0).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
}

async fn futures_join(
    grants: &Grants<MemoryStore>,
    t: &RefreshToken,
) -> Vec<Result<(ActiveGrant, RefreshToken), RefreshError>> {
    let mut out = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (grants, t) = (grants.clone(), t.clone());
        tasks.spawn(async move { grants.refresh("app", t.expose(), at(1)).await });
    }
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// Every file of the sled database is scanned for the tokens: only hashes are stored.
#[tokio::test]
async fn only_hashes_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut issued = Vec::new();
    {
        let (grants, _) = sled(dir.path()).await;
        for _ in 0..20 {
            let (_, t0) = grants.start(start("alice", "app"), at(0)).await.unwrap();
            let (_, t1) = grants.refresh("app", t0.expose(), at(1)).await.unwrap();
            issued.push(t0);
            issued.push(t1);
        }
    }
    let mut bytes = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    let hashed = token::hash(issued[0].expose());
    assert!(
        bytes.windows(hashed.len()).any(|w| w == hashed.as_bytes()),
        "the scan must see the stored hash, else it proves nothing"
    );
    for t in &issued {
        let raw = t.expose().as_bytes();
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw),
            "a token is on disk"
        );
    }
}
