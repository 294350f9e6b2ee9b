//! One behavioural suite every [`ConsentStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use super::{ConsentStore, ConsentWrite, ScopeUpdate};

fn scopes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Stores `scopes` for (user, client) at `now` with `update`.
pub async fn put<S: ConsentStore>(
    store: &S,
    (user_id, client_id): (&str, &str),
    approved: &[&str],
    update: ScopeUpdate,
    now: i64,
) {
    let scopes = scopes(approved);
    let write = ConsentWrite {
        user_id,
        client_id,
        scopes: &scopes,
        update,
        now,
    };
    store.put_consent(&write).await.unwrap();
}

/// Get, merge, replace, and deletion of one, by user and by client.
pub async fn exercise<S: ConsentStore>(store: &S) {
    assert!(store.get_consent("u1", "c1").await.unwrap().is_none());
    put(store, ("u1", "c1"), &["openid"], ScopeUpdate::Merge, 10).await;
    put(store, ("u1", "c1"), &["profile"], ScopeUpdate::Merge, 20).await;
    let got = store.get_consent("u1", "c1").await.unwrap().unwrap();
    assert_eq!(got.scopes, set(&["openid", "profile"]));
    assert_eq!((got.user_id.as_str(), got.client_id.as_str()), ("u1", "c1"));
    assert_eq!((got.created_at, got.updated_at), (10, 20));

    put(store, ("u1", "c1"), &["email"], ScopeUpdate::Replace, 30).await;
    let got = store.get_consent("u1", "c1").await.unwrap().unwrap();
    assert_eq!(got.scopes, set(&["email"]));
    assert_eq!((got.created_at, got.updated_at), (10, 30));
    // Pairs are separate: neither the user nor the client alone matches.
    assert!(store.get_consent("u1", "c2").await.unwrap().is_none());
    assert!(store.get_consent("u2", "c1").await.unwrap().is_none());
    // The separator cannot be forged by IDs that run into each other.
    assert!(store.get_consent("u1\0c", "1").await.unwrap().is_none());

    assert!(store.delete_consent("u1", "c1").await.unwrap());
    assert!(!store.delete_consent("u1", "c1").await.unwrap());
    assert!(store.get_consent("u1", "c1").await.unwrap().is_none());

    for (user, client) in [("u1", "c1"), ("u1", "c2"), ("u2", "c2"), ("u2", "c3")] {
        put(store, (user, client), &["openid"], ScopeUpdate::Merge, 40).await;
    }
    // A user whose ID extends another's is not theirs.
    put(store, ("u10", "c1"), &["openid"], ScopeUpdate::Merge, 40).await;
    assert_eq!(store.delete_user_consents("u1").await.unwrap(), 2);
    assert!(store.get_consent("u1", "c1").await.unwrap().is_none());
    assert!(store.get_consent("u1", "c2").await.unwrap().is_none());
    assert!(store.get_consent("u10", "c1").await.unwrap().is_some());
    assert_eq!(store.delete_client_consents("c2").await.unwrap(), 1);
    assert!(store.get_consent("u2", "c2").await.unwrap().is_none());
    assert!(store.get_consent("u2", "c3").await.unwrap().is_some());
    assert_eq!(store.delete_user_consents("nobody").await.unwrap(), 0);
    assert_eq!(store.delete_client_consents("c2").await.unwrap(), 0);
    // A consent given again after its client's deletion is found by the client again.
    put(store, ("u2", "c2"), &["openid"], ScopeUpdate::Merge, 50).await;
    assert_eq!(store.delete_client_consents("c2").await.unwrap(), 1);
}
