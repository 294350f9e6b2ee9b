//! One behavioural suite every [`CaJournalStore`] + [`BundleStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::types::v1::Bundle;

use super::{BundleStore, BundleWrite, CaJournalStore, DatastoreError};

fn bundle(td: &str, sequence: u64) -> Bundle {
    Bundle {
        trust_domain: td.into(),
        sequence,
        ..Bundle::default()
    }
}

/// Journal revisions per server ID, the journal and the bundle committed together (a
/// conflict on either writes neither), bundle compare-and-swap, listing, deletion.
pub async fn exercise<S: CaJournalStore + BundleStore>(store: &S) {
    assert!(store.load_journal("s1").await.unwrap().is_none());
    let first = bundle("example.org", 1);
    let write = BundleWrite {
        bundle: &first,
        expected_sequence: None,
    };
    assert_eq!(
        store
            .commit_journal("s1", None, b"j1", Some(write))
            .await
            .unwrap(),
        1
    );
    // Another replica's journal is its own.
    assert_eq!(
        store.commit_journal("s2", None, b"k1", None).await.unwrap(),
        1
    );
    // A stale revision conflicts and writes nothing, not even the bundle.
    let newer = bundle("example.org", 2);
    let write2 = BundleWrite {
        bundle: &newer,
        expected_sequence: Some(1),
    };
    let err = store
        .commit_journal("s1", None, b"j2", Some(write2))
        .await
        .unwrap_err();
    assert!(matches!(err, DatastoreError::Conflict(_)), "{err}");
    assert_eq!(
        store
            .get_bundle("example.org")
            .await
            .unwrap()
            .unwrap()
            .sequence,
        1
    );
    // A stale bundle sequence conflicts and writes nothing, not even the journal.
    let stale = BundleWrite {
        bundle: &newer,
        expected_sequence: Some(7),
    };
    let err = store
        .commit_journal("s1", Some(1), b"j2", Some(stale))
        .await
        .unwrap_err();
    assert!(matches!(err, DatastoreError::Conflict(_)), "{err}");
    assert_eq!(store.load_journal("s1").await.unwrap().unwrap().data, b"j1");
    assert_eq!(
        store
            .commit_journal("s1", Some(1), b"j2", Some(write2))
            .await
            .unwrap(),
        2
    );
    let j = store.load_journal("s1").await.unwrap().unwrap();
    assert_eq!((j.revision, j.data.as_slice()), (2, &b"j2"[..]));
    assert_eq!(store.load_journal("s2").await.unwrap().unwrap().data, b"k1");
    // Every replica's journal is listed, ordered by server ID, at its latest revision.
    let listed: Vec<_> = store
        .list_journals()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, j)| (id, j.revision, j.data))
        .collect();
    assert_eq!(
        listed,
        [
            ("s1".to_string(), 2, b"j2".to_vec()),
            ("s2".to_string(), 1, b"k1".to_vec())
        ]
    );

    // Bundles alone: create-if-absent, compare-and-swap, ordered listing, delete.
    let fed = bundle("b.org", 1);
    let create = BundleWrite {
        bundle: &fed,
        expected_sequence: None,
    };
    store.put_bundle(create).await.unwrap();
    assert!(matches!(
        store.put_bundle(create).await,
        Err(DatastoreError::Conflict(_))
    ));
    let fed2 = bundle("b.org", 2);
    assert!(matches!(
        store
            .put_bundle(BundleWrite {
                bundle: &fed2,
                expected_sequence: Some(5),
            })
            .await,
        Err(DatastoreError::Conflict(_))
    ));
    store
        .put_bundle(BundleWrite {
            bundle: &fed2,
            expected_sequence: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(store.list_bundles().await.unwrap(), vec![fed2, newer]);
    assert!(store.delete_bundle("b.org").await.unwrap());
    assert!(!store.delete_bundle("b.org").await.unwrap());
    assert!(store.get_bundle("b.org").await.unwrap().is_none());
}
