//! One behavioural suite every [`JoinTokenStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{DatastoreError, JoinTokenRecord, JoinTokenStore};

fn record(hash: &str, expires_at: i64, agent_id: &str) -> JoinTokenRecord {
    JoinTokenRecord {
        token_hash: hash.into(),
        expires_at,
        agent_id: agent_id.into(),
    }
}

/// Create (unique hash), take once, prune what expired at or before `now`.
pub async fn exercise(store: &impl JoinTokenStore) {
    let r = record("aa", 100, "spiffe://e.org/n");
    store.create_join_token(&r).await.unwrap();
    assert!(matches!(
        store.create_join_token(&r).await,
        Err(DatastoreError::AlreadyExists(_))
    ));
    assert_eq!(store.take_join_token("aa").await.unwrap(), Some(r));
    assert_eq!(store.take_join_token("aa").await.unwrap(), None);
    assert_eq!(store.take_join_token("zz").await.unwrap(), None);

    store.create_join_token(&record("b", 10, "")).await.unwrap();
    store.create_join_token(&record("c", 20, "")).await.unwrap();
    store.create_join_token(&record("d", 30, "")).await.unwrap();
    assert_eq!(store.prune_join_tokens(20).await.unwrap(), 2);
    assert_eq!(store.take_join_token("b").await.unwrap(), None);
    assert_eq!(store.take_join_token("c").await.unwrap(), None);
    assert_eq!(
        store.take_join_token("d").await.unwrap(),
        Some(record("d", 30, ""))
    );
}
