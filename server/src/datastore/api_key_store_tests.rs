//! One behavioural suite every [`ApiKeyStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError};

/// A key `id` of `owner` whose secret hash is derived from the ID.
pub fn record(id: &str, owner: ApiKeyOwner) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        name: format!("key {id}"),
        owner,
        scopes: vec!["read".into(), "write".into()],
        audiences: vec!["https://api.example".into()],
        allowed_cidrs: vec!["10.0.0.0/8".into()],
        created_at: 100,
        expires_at: 1_000,
        revoked_at: None,
        last_used_at: None,
        last_used_from: None,
        secret_hash: format!("hash-of-{id}"),
        owner_created_at: 7,
    }
}

fn user(id: &str) -> ApiKeyOwner {
    ApiKeyOwner::User(id.into())
}

/// Create, lookups by ID and hash, uniqueness, listing by owner with paging, revocation
/// and use records.
pub async fn exercise<S: ApiKeyStore>(store: &S) {
    assert!(store.get_api_key("ak_1").await.unwrap().is_none());
    assert!(store.find_api_key("hash-of-ak_1").await.unwrap().is_none());
    let one = record("ak_1", user("u1"));
    store.create_api_key(&one).await.unwrap();
    assert_eq!(store.get_api_key("ak_1").await.unwrap(), Some(one.clone()));
    assert_eq!(
        store.find_api_key("hash-of-ak_1").await.unwrap(),
        Some(one.clone())
    );
    // The same ID, or the same secret hash under another ID, is refused.
    let again = store.create_api_key(&one).await;
    assert!(
        matches!(again, Err(DatastoreError::AlreadyExists(_))),
        "{again:?}"
    );
    let mut same_hash = record("ak_other", user("u1"));
    same_hash.secret_hash = one.secret_hash.clone();
    let clash = store.create_api_key(&same_hash).await;
    assert!(
        matches!(clash, Err(DatastoreError::AlreadyExists(_))),
        "{clash:?}"
    );
    assert!(store.get_api_key("ak_other").await.unwrap().is_none());

    store
        .create_api_key(&record("ak_2", ApiKeyOwner::Client("u1".into())))
        .await
        .unwrap();
    store
        .create_api_key(&record("ak_3", user("u1")))
        .await
        .unwrap();
    store
        .create_api_key(&record("ak_4", user("u2")))
        .await
        .unwrap();
    let ids = |page: &super::Page<ApiKeyRecord>| {
        page.items.iter().map(|k| k.id.clone()).collect::<Vec<_>>()
    };
    let all = store.list_api_keys(None, "", 10).await.unwrap();
    assert_eq!(ids(&all), ["ak_1", "ak_2", "ak_3", "ak_4"]);
    assert!(all.next_page_token.is_empty());
    // A client and a user with the same ID are different owners.
    let mine = store.list_api_keys(Some(&user("u1")), "", 1).await.unwrap();
    assert_eq!(ids(&mine), ["ak_1"]);
    let rest = store
        .list_api_keys(Some(&user("u1")), &mine.next_page_token, 5)
        .await
        .unwrap();
    assert_eq!(ids(&rest), ["ak_3"]);
    assert!(rest.next_page_token.is_empty());

    let revoked = store.revoke_api_key("ak_1", 500).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(500));
    // A second revocation keeps the first instant.
    let again = store.revoke_api_key("ak_1", 600).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(500));
    assert_eq!(
        store
            .find_api_key("hash-of-ak_1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(500)
    );
    assert!(
        store
            .revoke_api_key("ak_none", 500)
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        store
            .record_api_key_use("ak_3", 300, Some("10.1.2.3"))
            .await
            .unwrap()
    );
    // An older use does not overwrite a later one.
    assert!(
        store
            .record_api_key_use("ak_3", 200, Some("10.9.9.9"))
            .await
            .unwrap()
    );
    let used = store.get_api_key("ak_3").await.unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(300));
    assert_eq!(used.last_used_from.as_deref(), Some("10.1.2.3"));
    assert!(
        !store
            .record_api_key_use("ak_none", 300, None)
            .await
            .unwrap()
    );

    // Deleting an owner's keys: that owner's only (the client `u1` is another owner).
    assert_eq!(store.delete_owner_api_keys(&user("u1")).await.unwrap(), 2);
    assert!(store.get_api_key("ak_1").await.unwrap().is_none());
    assert!(store.find_api_key("hash-of-ak_3").await.unwrap().is_none());
    assert!(store.get_api_key("ak_2").await.unwrap().is_some());
    assert!(store.get_api_key("ak_4").await.unwrap().is_some());
    assert_eq!(store.delete_owner_api_keys(&user("u1")).await.unwrap(), 0);
    // The deleted key's secret hash is free again.
    store
        .create_api_key(&record("ak_1", user("u3")))
        .await
        .unwrap();
}
