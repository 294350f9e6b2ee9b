//! One behavioural suite every [`EntryStore`] backend must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::types::v1::{Entry, Selector};

use super::{DatastoreError, EntryFilter, EntryStore};

/// An entry in trust domain `td` (`spiffe_id` and `parent` are paths).
pub fn entry(id: &str, spiffe_id: &str, parent: &str, selectors: &[&str]) -> Entry {
    Entry {
        id: id.into(),
        spiffe_id: format!("spiffe://td{spiffe_id}"),
        parent_id: format!("spiffe://td{parent}"),
        selectors: selectors
            .iter()
            .map(|s| {
                let (kind, value) = s.split_once(':').unwrap();
                Selector {
                    r#type: kind.into(),
                    value: value.into(),
                }
            })
            .collect(),
        created_at: 7,
        ..Entry::default()
    }
}

fn ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// Revisions, uniqueness, the by-parent index, listing and paging.
pub async fn exercise(store: &impl EntryStore) {
    assert_eq!(store.entries_revision().await.unwrap(), 0);
    let a = store
        .create_entry(entry("a", "/w", "/p1", &["u:1"]))
        .await
        .unwrap();
    let b = store
        .create_entry(entry("b", "/w", "/p1", &["u:2"]))
        .await
        .unwrap();
    let c = store
        .create_entry(entry("c", "/x", "/p2", &["u:1"]))
        .await
        .unwrap();
    assert_eq!((a.revision, b.revision, c.revision), (1, 2, 3));
    assert_eq!(store.entries_revision().await.unwrap(), 3);
    assert_eq!(store.count_entries().await.unwrap(), 3);

    // Uniqueness: same ID, or same triple, is refused and changes nothing.
    for dup in [
        entry("a", "/other", "/p1", &["u:9"]),
        entry("d", "/w", "/p1", &["u:1"]),
    ] {
        let err = store.create_entry(dup).await.unwrap_err();
        assert!(matches!(err, DatastoreError::AlreadyExists(_)), "{err}");
    }
    assert_eq!(store.entries_revision().await.unwrap(), 3);
    assert_eq!(store.count_entries().await.unwrap(), 3);

    // By-parent index.
    assert_eq!(
        ids(&store.entries_by_parent("spiffe://td/p1").await.unwrap()),
        ["a", "b"]
    );
    assert!(
        store
            .entries_by_parent("spiffe://td/p")
            .await
            .unwrap()
            .is_empty()
    );

    // Update moving the parent moves the index row; created_at is kept.
    let mut moved = entry("b", "/w", "/p2", &["u:2"]);
    moved.created_at = 99;
    let moved = store.update_entry(moved).await.unwrap();
    assert_eq!((moved.revision, moved.created_at), (4, 7));
    assert_eq!(
        ids(&store.entries_by_parent("spiffe://td/p1").await.unwrap()),
        ["a"]
    );
    assert_eq!(
        ids(&store.entries_by_parent("spiffe://td/p2").await.unwrap()),
        ["b", "c"]
    );
    // Several parents at once (unknown and NUL-carrying ones have no children).
    let found = store
        .entries_by_parents(&[
            "spiffe://td/p2".into(),
            "spiffe://td/none".into(),
            "spiffe://td/p1".into(),
            "spiffe://td/\0".into(),
        ])
        .await
        .unwrap();
    let mut both = ids(&found);
    both.sort();
    assert_eq!(both, ["a", "b", "c"]);
    assert!(store.entries_by_parents(&[]).await.unwrap().is_empty());
    // The old triple is free again; the new one is taken.
    let err = store
        .update_entry(entry("a", "/w", "/p2", &["u:2"]))
        .await
        .unwrap_err();
    assert!(matches!(err, DatastoreError::AlreadyExists(_)), "{err}");
    store
        .update_entry(entry("a", "/w", "/p1", &["u:1"]))
        .await
        .unwrap();
    let err = store
        .update_entry(entry("zz", "/w", "/p1", &["u:7"]))
        .await
        .unwrap_err();
    assert!(matches!(err, DatastoreError::NotFound(_)), "{err}");
    assert_eq!(store.entries_revision().await.unwrap(), 5);

    // Listing with filters and paging.
    let all = EntryFilter::default();
    let page = store.list_entries(&all, "", 2).await.unwrap();
    assert_eq!(
        (ids(&page.items), page.next_page_token.as_str()),
        (vec!["a", "b"], "b")
    );
    let page = store.list_entries(&all, "b", 2).await.unwrap();
    assert_eq!(
        (ids(&page.items), page.next_page_token.as_str()),
        (vec!["c"], "")
    );
    let by_parent = EntryFilter {
        parent_id: Some("spiffe://td/p2".into()),
        ..EntryFilter::default()
    };
    let page = store.list_entries(&by_parent, "", 1).await.unwrap();
    assert_eq!(
        (ids(&page.items), page.next_page_token.as_str()),
        (vec!["b"], "b")
    );
    let page = store.list_entries(&by_parent, "b", 1).await.unwrap();
    assert_eq!(
        (ids(&page.items), page.next_page_token.as_str()),
        (vec!["c"], "")
    );
    let by_selector = EntryFilter {
        selectors: vec!["u:1".into()],
        ..EntryFilter::default()
    };
    let page = store.list_entries(&by_selector, "", 10).await.unwrap();
    assert_eq!(ids(&page.items), ["a", "c"]);

    // Delete removes the index rows and frees the triple.
    let gone = store.delete_entry("c").await.unwrap().unwrap();
    assert_eq!(gone.id, "c");
    assert!(store.delete_entry("c").await.unwrap().is_none());
    assert_eq!(store.entries_revision().await.unwrap(), 6);
    assert_eq!(
        ids(&store.entries_by_parent("spiffe://td/p2").await.unwrap()),
        ["b"]
    );
    assert!(store.get_entry("c").await.unwrap().is_none());
    let again = store
        .create_entry(entry("c2", "/x", "/p2", &["u:1"]))
        .await
        .unwrap();
    assert_eq!(again.revision, 7);
    assert_eq!(store.count_entries().await.unwrap(), 3);
}
