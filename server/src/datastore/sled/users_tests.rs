#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::datastore::user_store_tests::{exercise, record};

#[tokio::test]
async fn sled_passes_the_user_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&SledStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn users_and_the_username_index_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let created = store.create_user(&record("id1", "Zoe")).await.unwrap();
    let mut changed = created.clone();
    changed.login.failures = 3;
    changed.disabled = true;
    let changed = store.update_user(&changed).await.unwrap();
    drop(store);
    let reopened = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        reopened.get_user("id1").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        reopened.get_user_by_username("zoe").await.unwrap(),
        Some(changed)
    );
    let dup = reopened.create_user(&record("id2", "ZOE")).await;
    assert!(matches!(dup, Err(DatastoreError::AlreadyExists(_))));
    assert_eq!(reopened.list_users("", 10).await.unwrap().items.len(), 1);
}
