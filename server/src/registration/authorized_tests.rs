#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::types::v1::Selector as WireSelector;

use super::*;
use crate::datastore::memory::MemoryStore;
use crate::datastore::{EntryFilter, Page};

const NOW: i64 = 1_700_000_000;

fn id(path: &str) -> SpiffeId {
    SpiffeId::parse(&format!("spiffe://td{path}")).unwrap()
}

fn agent() -> SpiffeId {
    id("/tessera/agent/node1")
}

fn server() -> SpiffeId {
    id("/tessera/server")
}

fn sels(list: &[&str]) -> Vec<Selector> {
    list.iter().map(|s| Selector::parse(s).unwrap()).collect()
}

/// Counts `entries_by_parent` calls, to check the walk never scans.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryStore,
    lookups: AtomicUsize,
}

impl EntryStore for Counting {
    async fn create_entry(&self, e: Entry) -> Result<Entry, DatastoreError> {
        self.inner.create_entry(e).await
    }
    async fn update_entry(&self, e: Entry) -> Result<Entry, DatastoreError> {
        self.inner.update_entry(e).await
    }
    async fn delete_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        self.inner.delete_entry(id).await
    }
    async fn get_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        self.inner.get_entry(id).await
    }
    async fn list_entries(
        &self,
        _: &EntryFilter,
        _: &str,
        _: usize,
    ) -> Result<Page<Entry>, DatastoreError> {
        panic!("authorized_entries must not list entries")
    }
    async fn count_entries(&self) -> Result<u64, DatastoreError> {
        self.inner.count_entries().await
    }
    async fn entries_by_parent(&self, parent_id: &str) -> Result<Vec<Entry>, DatastoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.entries_by_parent(parent_id).await
    }
    async fn entries_revision(&self) -> Result<u64, DatastoreError> {
        self.inner.entries_revision().await
    }
}

impl Counting {
    async fn add(&self, entry_id: &str, spiffe_id: &str, parent: &SpiffeId, selectors: &[&str]) {
        self.add_expiring(entry_id, spiffe_id, parent, selectors, 0)
            .await;
    }

    async fn add_expiring(
        &self,
        entry_id: &str,
        spiffe_id: &str,
        parent: &SpiffeId,
        selectors: &[&str],
        expires_at: i64,
    ) {
        let selectors = sels(selectors)
            .into_iter()
            .map(|s| WireSelector {
                r#type: s.kind().into(),
                value: s.value().into(),
            })
            .collect();
        let entry = Entry {
            id: entry_id.into(),
            spiffe_id: id(spiffe_id).to_string(),
            parent_id: parent.to_string(),
            selectors,
            expires_at,
            ..Entry::default()
        };
        self.create_entry(entry).await.unwrap();
    }

    async fn authorized(&self, node: &[&str]) -> Vec<String> {
        let now = from_unix_seconds(NOW);
        let found = authorized_entries(self, &agent(), &sels(node), &server(), now)
            .await
            .unwrap();
        found.into_iter().map(|e| e.id).collect()
    }
}

#[tokio::test]
async fn direct_children_of_the_agent() {
    let store = Counting::default();
    store.add("b", "/web", &agent(), &["unix:uid:1"]).await;
    store.add("a", "/db", &agent(), &["unix:uid:2"]).await;
    store
        .add("c", "/other", &id("/tessera/agent/node2"), &["unix:uid:1"])
        .await;
    assert_eq!(store.authorized(&[]).await, ["a", "b"]);
}

#[tokio::test]
async fn node_aliases_match_by_subset_and_bring_their_children() {
    let store = Counting::default();
    store
        .add(
            "alias",
            "/cluster/a",
            &server(),
            &["k8s:cluster:a", "k8s:zone:1"],
        )
        .await;
    store
        .add("other", "/cluster/b", &server(), &["k8s:cluster:b"])
        .await;
    store
        .add("w1", "/w1", &id("/cluster/a"), &["k8s:ns:x"])
        .await;
    store
        .add("w2", "/w2", &id("/cluster/b"), &["k8s:ns:x"])
        .await;
    // All alias selectors present (plus more): a match.
    let node = ["k8s:cluster:a", "k8s:zone:1", "k8s:node:n1"];
    assert_eq!(store.authorized(&node).await, ["alias", "w1"]);
    // Only part of the alias selectors: no match.
    assert!(store.authorized(&["k8s:cluster:a"]).await.is_empty());
}

#[tokio::test]
async fn descendants_are_followed_and_cost_is_proportional() {
    let store = Counting::default();
    store.add("1", "/a", &agent(), &["u:1"]).await;
    store.add("2", "/b", &id("/a"), &["u:2"]).await;
    store.add("3", "/c", &id("/b"), &["u:3"]).await;
    store.add("4", "/c", &id("/a"), &["u:4"]).await;
    for i in 0..50 {
        store
            .add(
                &format!("x{i}"),
                &format!("/x{i}"),
                &id("/unrelated"),
                &["u:1"],
            )
            .await;
    }
    assert_eq!(store.authorized(&[]).await, ["1", "2", "3", "4"]);
    // agent, server, /a, /b, /c: one lookup per distinct parent, none for unrelated ones.
    assert_eq!(store.lookups.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn cycles_terminate() {
    let store = Counting::default();
    store.add("1", "/a", &agent(), &["u:1"]).await;
    store.add("2", "/b", &id("/a"), &["u:1"]).await;
    store.add("3", "/a", &id("/b"), &["u:1"]).await;
    store
        .add("4", "/tessera/agent/node1", &id("/b"), &["u:1"])
        .await;
    assert_eq!(store.authorized(&[]).await, ["1", "2", "3", "4"]);
}

#[tokio::test]
async fn expired_entries_are_skipped_with_their_subtree() {
    let store = Counting::default();
    store
        .add_expiring("old", "/a", &agent(), &["u:1"], NOW)
        .await;
    store.add("under-old", "/b", &id("/a"), &["u:1"]).await;
    store
        .add_expiring("fresh", "/c", &agent(), &["u:1"], NOW + 1)
        .await;
    store
        .add_expiring("old-alias", "/n", &server(), &["k8s:n:1"], NOW - 10)
        .await;
    assert_eq!(store.authorized(&["k8s:n:1"]).await, ["fresh"]);
    let later = from_unix_seconds(NOW) + Duration::from_secs(1);
    let found = authorized_entries(&store, &agent(), &[], &server(), later)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
}
