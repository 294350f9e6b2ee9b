#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::datastore::entry_store_tests::{self, entry};

#[tokio::test]
async fn sled_passes_the_entry_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    entry_store_tests::exercise(&store).await;
}

#[tokio::test]
async fn entries_and_indexes_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = store
        .create_entry(entry("a", "/w1", "/p", &["u:1"]))
        .await
        .unwrap();
    store
        .create_entry(entry("b", "/w2", "/p", &["u:2"]))
        .await
        .unwrap();
    store.delete_entry("b").await.unwrap();
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.get_entry("a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.entries_revision().await.unwrap(), 3);
    assert_eq!(
        store.entries_by_parent("spiffe://td/p").await.unwrap(),
        vec![a]
    );
    assert_eq!(store.count_entries().await.unwrap(), 1);
    // The uniqueness index survived too.
    let err = store
        .create_entry(entry("c", "/w1", "/p", &["u:1"]))
        .await
        .unwrap_err();
    assert!(matches!(err, DatastoreError::AlreadyExists(_)), "{err}");
    let c = store
        .create_entry(entry("c", "/w2", "/p", &["u:2"]))
        .await
        .unwrap();
    assert_eq!(c.revision, 4);
}

/// Concurrent writers must all finish (sled's `flush_async` could hang here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..300 {
        let store = store.clone();
        let e = entry(&format!("e{i:03}"), &format!("/w{i}"), "/p", &["u:1"]);
        set.spawn(async move { store.create_entry(e).await.unwrap().revision });
    }
    let all = async {
        let mut revisions = Vec::new();
        while let Some(r) = set.join_next().await {
            revisions.push(r.unwrap());
        }
        revisions
    };
    let mut revisions = tokio::time::timeout(std::time::Duration::from_secs(30), all)
        .await
        .expect("concurrent creates hung");
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        (1..=300).collect::<Vec<u64>>(),
        "each got its own revision"
    );
    assert_eq!(
        store
            .entries_by_parent("spiffe://td/p")
            .await
            .unwrap()
            .len(),
        300
    );
}

#[test]
fn triple_keys_are_unambiguous() {
    let a = entry("x", "/ab", "/c", &["k:v"]);
    let mut b = entry("y", "/a", "/bc", &["k:v"]);
    assert_ne!(triple_key(&a), triple_key(&b));
    b = entry("y", "/ab", "/c", &["k:v", "k:w"]);
    assert_ne!(triple_key(&a), triple_key(&b));
    let c = entry("z", "/ab", "/c", &["k:v"]);
    assert_eq!(
        triple_key(&a),
        triple_key(&c),
        "the ID is not part of the triple"
    );
}
