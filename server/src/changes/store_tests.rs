//! The announcement suite every backend passes: each committed entry or bundle write is
//! announced with what the agents' relevance filter needs (the parents, the trust domain).
//! `changes` hears `store`'s writes: on sled its own hub, on PostgreSQL another store's
//! listener (a write through one replica heard by another).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tessera_proto::wire::tessera::types::v1::{Bundle, Entry, X509Authority};

use super::{Change, ChangeReceiver};
use crate::datastore::{BundleStore, BundleWrite, EntryStore};

/// The next change other than "everything" (a listener says that when it connects).
async fn next(changes: &mut ChangeReceiver) -> Change {
    loop {
        let change = tokio::time::timeout(Duration::from_secs(10), changes.next())
            .await
            .expect("a change is announced")
            .expect("the hub is alive");
        if change != Change::Everything {
            return change;
        }
    }
}

fn parents(change: Change) -> Vec<String> {
    match change {
        Change::Entry { parents, .. } => parents,
        other => panic!("expected an entry change, got {other:?}"),
    }
}

/// Writes through `store` and checks what `changes` hears.
pub async fn exercise(store: &(impl EntryStore + BundleStore), changes: &mut ChangeReceiver) {
    let (a, b) = (
        "spiffe://example.org/tessera/agent/a",
        "spiffe://example.org/tessera/agent/b",
    );
    let created = store
        .create_entry(Entry {
            id: "announced".into(),
            spiffe_id: "spiffe://example.org/w".into(),
            parent_id: a.into(),
            ..Entry::default()
        })
        .await
        .unwrap();
    match next(changes).await {
        Change::Entry { revision, parents } => {
            assert_eq!(revision, created.revision);
            assert_eq!(parents, [a]);
        }
        other => panic!("{other:?}"),
    }
    let mut moved = created.clone();
    moved.parent_id = b.into();
    store.update_entry(moved.clone()).await.unwrap();
    assert_eq!(
        parents(next(changes).await),
        [a, b],
        "both parents of a move"
    );
    moved.hint = "same parent".into();
    store.update_entry(moved).await.unwrap();
    assert_eq!(parents(next(changes).await), [b]);
    store.delete_entry("announced").await.unwrap();
    assert_eq!(parents(next(changes).await), [b]);
    // Deleting nothing announces nothing: the next change is the bundle below.
    assert!(store.delete_entry("announced").await.unwrap().is_none());

    let bundle = Bundle {
        trust_domain: "federated.org".into(),
        sequence: 1,
        x509_authorities: vec![X509Authority {
            asn1: vec![1, 2, 3],
            tainted: false,
        }],
        ..Bundle::default()
    };
    store
        .put_bundle(BundleWrite {
            bundle: &bundle,
            expected_sequence: None,
        })
        .await
        .unwrap();
    let federated = Change::Bundle {
        trust_domain: "federated.org".into(),
    };
    assert_eq!(next(changes).await, federated);
    assert!(store.delete_bundle("federated.org").await.unwrap());
    assert_eq!(next(changes).await, federated);
}
