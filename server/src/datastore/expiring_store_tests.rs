//! The behaviour every [`ExpiringStore`] backend shares.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::{DatastoreError, ExpiringKind, ExpiringStore, ExpiringWrite};

fn write<'a>(
    key: &'a [u8],
    group: &'a [u8],
    value: &'a [u8],
    expires_at: i64,
) -> ExpiringWrite<'a> {
    ExpiringWrite {
        kind: ExpiringKind::BrowserSession,
        key,
        group,
        value,
        expires_at,
    }
}

/// Runs the suite against `store` (empty).
pub async fn exercise<S: ExpiringStore>(store: &S) {
    create_get_and_expiry(store).await;
    updates_are_compare_and_swap(store).await;
    deletes(store).await;
    groups_list_live_records_oldest_first(store).await;
    kinds_are_separate_namespaces(store).await;
    pruning_deletes_only_what_expired(store).await;
    oversized_keys_are_refused(store).await;
}

async fn create_get_and_expiry<S: ExpiringStore>(store: &S) {
    assert!(
        store
            .create_expiring(write(b"a", b"", b"v1", 110), 100)
            .await
            .unwrap()
    );
    let got = store
        .get_expiring(ExpiringKind::BrowserSession, b"a", 109)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.value, b"v1");
    assert_eq!(got.revision, 1);
    assert_eq!(got.expires_at, 110);
    assert!(
        !store
            .create_expiring(write(b"a", b"", b"v2", 200), 105)
            .await
            .unwrap(),
        "a live record keeps its key"
    );
    assert_eq!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"a", 109)
            .await
            .unwrap()
            .unwrap()
            .value,
        b"v1"
    );
    assert_eq!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"a", 110)
            .await
            .unwrap(),
        None,
        "gone at its expiry"
    );
    assert!(
        store
            .create_expiring(write(b"a", b"", b"v3", 300), 110)
            .await
            .unwrap(),
        "an expired record is replaced"
    );
    let got = store
        .get_expiring(ExpiringKind::BrowserSession, b"a", 200)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.value.as_slice(), got.expires_at), (&b"v3"[..], 300));
    store
        .delete_expiring(ExpiringKind::BrowserSession, b"a", None)
        .await
        .unwrap();
}

async fn updates_are_compare_and_swap<S: ExpiringStore>(store: &S) {
    assert!(
        store
            .create_expiring(write(b"u", b"", b"v1", 1000), 100)
            .await
            .unwrap()
    );
    let rev = store
        .update_expiring(write(b"u", b"", b"v2", 2000), 1)
        .await
        .unwrap();
    assert_eq!(rev, 2);
    let stale = store
        .update_expiring(write(b"u", b"", b"v3", 2000), 1)
        .await;
    assert!(
        matches!(stale, Err(DatastoreError::Conflict(_))),
        "{stale:?}"
    );
    let got = store
        .get_expiring(ExpiringKind::BrowserSession, b"u", 1500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.value.as_slice(), got.revision, got.expires_at),
        (&b"v2"[..], 2, 2000)
    );
    let missing = store
        .update_expiring(write(b"none", b"", b"v", 2000), 1)
        .await;
    assert!(
        matches!(missing, Err(DatastoreError::Conflict(_))),
        "{missing:?}"
    );
    store
        .delete_expiring(ExpiringKind::BrowserSession, b"u", None)
        .await
        .unwrap();
}

async fn deletes<S: ExpiringStore>(store: &S) {
    assert!(
        store
            .create_expiring(write(b"d", b"", b"v", 1000), 100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_expiring(ExpiringKind::BrowserSession, b"d", Some(7))
            .await
            .unwrap(),
        "another revision is kept"
    );
    assert!(
        store
            .delete_expiring(ExpiringKind::BrowserSession, b"d", Some(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_expiring(ExpiringKind::BrowserSession, b"d", None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"d", 100)
            .await
            .unwrap(),
        None
    );
}

async fn groups_list_live_records_oldest_first<S: ExpiringStore>(store: &S) {
    for (key, at, expires) in [
        (&b"g3"[..], 30, 1000),
        (b"g1", 10, 1000),
        (b"g2", 20, 50),
        (b"g4", 40, 1000),
    ] {
        assert!(
            store
                .create_expiring(write(key, b"src-1", b"v", expires), at)
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .create_expiring(write(b"h1", b"src-2", b"v", 1000), 5)
            .await
            .unwrap()
    );
    let keys = store
        .group_expiring(ExpiringKind::BrowserSession, b"src-1", 60, 10)
        .await
        .unwrap();
    assert_eq!(
        keys,
        [b"g1".to_vec(), b"g3".to_vec(), b"g4".to_vec()],
        "g2 expired"
    );
    let first = store
        .group_expiring(ExpiringKind::BrowserSession, b"src-1", 60, 1)
        .await
        .unwrap();
    assert_eq!(first, [b"g1".to_vec()]);
    store
        .delete_expiring(ExpiringKind::BrowserSession, b"g1", None)
        .await
        .unwrap();
    let keys = store
        .group_expiring(ExpiringKind::BrowserSession, b"src-1", 60, 10)
        .await
        .unwrap();
    assert_eq!(keys, [b"g3".to_vec(), b"g4".to_vec()]);
    // An update keeps the group and the creation order.
    store
        .update_expiring(write(b"g3", b"", b"w", 2000), 1)
        .await
        .unwrap();
    let keys = store
        .group_expiring(ExpiringKind::BrowserSession, b"src-1", 1500, 10)
        .await
        .unwrap();
    assert_eq!(keys, [b"g3".to_vec()]);
    for key in [&b"g2"[..], b"g3", b"g4", b"h1"] {
        store
            .delete_expiring(ExpiringKind::BrowserSession, key, None)
            .await
            .unwrap();
    }
    assert!(
        store
            .group_expiring(ExpiringKind::BrowserSession, b"src-1", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn kinds_are_separate_namespaces<S: ExpiringStore>(store: &S) {
    let code = ExpiringWrite {
        kind: ExpiringKind::AuthorizationCode,
        ..write(b"k", b"", b"code", 1000)
    };
    assert!(store.create_expiring(code, 100).await.unwrap());
    assert!(
        store
            .create_expiring(write(b"k", b"", b"session", 1000), 100)
            .await
            .unwrap()
    );
    let got = store
        .get_expiring(ExpiringKind::AuthorizationCode, b"k", 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.value, b"code");
    assert!(
        store
            .delete_expiring(ExpiringKind::AuthorizationCode, b"k", None)
            .await
            .unwrap()
    );
    assert!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"k", 100)
            .await
            .unwrap()
            .is_some()
    );
    store
        .delete_expiring(ExpiringKind::BrowserSession, b"k", None)
        .await
        .unwrap();
}

async fn pruning_deletes_only_what_expired<S: ExpiringStore>(store: &S) {
    assert!(
        store
            .create_expiring(write(b"p1", b"grp", b"v", 100), 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .create_expiring(write(b"p2", b"", b"v", 200), 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .create_expiring(write(b"p3", b"", b"v", 150), 1)
            .await
            .unwrap()
    );
    // p3 is extended past the prune time: the update moves its expiry.
    store
        .update_expiring(write(b"p3", b"", b"v", 500), 1)
        .await
        .unwrap();
    assert_eq!(store.prune_expiring(200).await.unwrap(), 2);
    assert_eq!(store.prune_expiring(200).await.unwrap(), 0);
    assert!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"p3", 200)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .group_expiring(ExpiringKind::BrowserSession, b"grp", 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "a pruned record leaves its group"
    );
    assert_eq!(store.prune_expiring(500).await.unwrap(), 1);
}

async fn oversized_keys_are_refused<S: ExpiringStore>(store: &S) {
    let long = vec![b'k'; super::MAX_EXPIRING_KEY + 1];
    assert!(
        store
            .create_expiring(write(&long, b"", b"v", 100), 1)
            .await
            .is_err()
    );
    assert!(
        store
            .create_expiring(write(b"", b"", b"v", 100), 1)
            .await
            .is_err()
    );
}

/// Of concurrent creators of one key exactly one succeeds, and of concurrent updaters at
/// one revision exactly one wins.
pub async fn races<S: ExpiringStore>(store: Arc<S>) {
    for round in 0..10u8 {
        let key = [b'r', round];
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_expiring(write(&key, b"", b"v", 1000), 1)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            created += usize::from(t.await.unwrap());
        }
        assert_eq!(created, 1, "round {round}");
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.update_expiring(write(&key, b"", b"w", 1000), 1).await },
                )
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(2) => won += 1,
                Err(DatastoreError::Conflict(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
    }
}
