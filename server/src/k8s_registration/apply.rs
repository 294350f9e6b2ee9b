//! Writing a [`Plan`] through the registration write path: entries were validated by
//! [`crate::registration::validate`] (the admin API's checks) and go to the same
//! [`EntryStore`] calls, so everything that watches entry writes sees them.

use std::collections::BTreeMap;
use std::future::Future;

use tessera_proto::wire::tessera::types::v1::Entry;

use super::desired::Report;
use super::diff::Plan;
use crate::datastore::{DatastoreError, EntryFilter, EntryStore};
use crate::registration::audit_entry_change;

/// Page size when listing entries for the ones the controller owns.
const PAGE: usize = 1000;

/// The entry calls the controller needs.
pub trait ControllerStore: Send + Sync + 'static {
    /// Every entry whose `managed_by` is `managed_by`.
    fn owned_entries(
        &self,
        managed_by: &str,
    ) -> impl Future<Output = Result<Vec<Entry>, DatastoreError>> + Send;
    /// Creates an entry.
    fn create(&self, entry: Entry) -> impl Future<Output = Result<Entry, DatastoreError>> + Send;
    /// Replaces an entry.
    fn update(&self, entry: Entry) -> impl Future<Output = Result<Entry, DatastoreError>> + Send;
    /// Deletes an entry.
    fn delete(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Entry>, DatastoreError>> + Send;
}

impl<S: EntryStore> ControllerStore for S {
    async fn owned_entries(&self, managed_by: &str) -> Result<Vec<Entry>, DatastoreError> {
        let mut owned = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .list_entries(&EntryFilter::default(), &token, PAGE)
                .await?;
            owned.extend(
                page.items
                    .into_iter()
                    .filter(|e| e.managed_by == managed_by),
            );
            if page.next_page_token.is_empty() {
                return Ok(owned);
            }
            token = page.next_page_token;
        }
    }
    async fn create(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        self.create_entry(entry).await
    }
    async fn update(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        self.update_entry(entry).await
    }
    async fn delete(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        self.delete_entry(id).await
    }
}

/// How many writes were made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Entries created.
    pub created: usize,
    /// Entries updated.
    pub updated: usize,
    /// Entries deleted.
    pub deleted: usize,
    /// Writes that failed.
    pub failed: usize,
}

fn audit(event: &'static str, e: &Entry) {
    audit_entry_change(event, "k8s_registration", e);
}

/// Applies `plan` (creates stamped `created_at = now`); a failed write is counted in the
/// report of the resource that wanted the entry (`resource_of`).
pub async fn apply(
    store: &impl ControllerStore,
    plan: Plan,
    now: i64,
    resource_of: &BTreeMap<String, String>,
    reports: &mut BTreeMap<String, Report>,
) -> Applied {
    let mut applied = Applied::default();
    let mut fail = |id: &str, what: &str, e: &DatastoreError, applied: &mut Applied| {
        applied.failed += 1;
        tracing::warn!(entry_id = id, error = %e, "k8s registration: {what} failed");
        if let Some(report) = resource_of.get(id).and_then(|r| reports.get_mut(r)) {
            report.stats.entry_failures += 1;
            report.error(format!("entry {id}: {what}: {e}"));
        }
    };
    for mut entry in plan.create {
        entry.created_at = now;
        let id = entry.id.clone();
        match store.create(entry).await {
            Ok(e) => {
                applied.created += 1;
                audit("entry_created", &e);
            }
            Err(e) => fail(&id, "create", &e, &mut applied),
        }
    }
    for entry in plan.update {
        let id = entry.id.clone();
        match store.update(entry).await {
            Ok(e) => {
                applied.updated += 1;
                audit("entry_updated", &e);
            }
            Err(e) => fail(&id, "update", &e, &mut applied),
        }
    }
    for id in plan.delete {
        match store.delete(&id).await {
            Ok(Some(e)) => {
                applied.deleted += 1;
                audit("entry_deleted", &e);
            }
            Ok(None) => {}
            Err(e) => fail(&id, "delete", &e, &mut applied),
        }
    }
    applied
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tessera_proto::wire::tessera::types::v1::Selector;

    use super::super::diff::plan;
    use super::*;
    use crate::datastore::memory::MemoryStore;

    const MINE: &str = "k8s_registration/prod";

    fn entry(id: &str, managed_by: &str) -> Entry {
        Entry {
            id: id.into(),
            spiffe_id: "spiffe://td/web".into(),
            parent_id: "spiffe://td/tessera/agent/k8s_psat/prod/n1".into(),
            selectors: vec![Selector {
                r#type: "k8s".into(),
                value: "pod-uid:1".into(),
            }],
            managed_by: managed_by.into(),
            ..Entry::default()
        }
    }

    #[tokio::test]
    async fn a_manual_twin_is_never_deleted_and_the_failure_is_reported() {
        let store = MemoryStore::default();
        // An operator's entry with the very SPIFFE ID, parent and selectors.
        store.create_entry(entry("manual", "")).await.unwrap();
        let want: BTreeMap<String, Entry> = [("k8s-1".to_string(), entry("k8s-1", MINE))].into();
        let resource_of = [("k8s-1".to_string(), "web".to_string())].into();
        let mut reports: BTreeMap<String, Report> = [("web".to_string(), Report::default())].into();
        let owned = store.owned_entries(MINE).await.unwrap();
        assert!(owned.is_empty());
        let applied = apply(
            &store,
            plan(&want, &owned, MINE),
            5,
            &resource_of,
            &mut reports,
        )
        .await;
        assert_eq!(applied.failed, 1);
        assert_eq!(reports["web"].stats.entry_failures, 1);
        assert!(store.get_entry("manual").await.unwrap().is_some());
        // Nothing desired: still only our own entries would go, and we own none.
        let owned = store.owned_entries(MINE).await.unwrap();
        let p = plan(&BTreeMap::new(), &owned, MINE);
        assert!(p.delete.is_empty());
    }

    #[tokio::test]
    async fn second_pass_is_a_no_op() {
        let store = MemoryStore::default();
        let want: BTreeMap<String, Entry> = [("k8s-1".to_string(), entry("k8s-1", MINE))].into();
        let mut reports = BTreeMap::new();
        let p = plan(&want, &store.owned_entries(MINE).await.unwrap(), MINE);
        let a = apply(&store, p, 5, &BTreeMap::new(), &mut reports).await;
        assert_eq!(a.created, 1);
        let revision = store.entries_revision().await.unwrap();
        let p = plan(&want, &store.owned_entries(MINE).await.unwrap(), MINE);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(store.entries_revision().await.unwrap(), revision);
    }
}
