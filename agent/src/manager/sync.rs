//! Merging `SyncEntries` pages into the entry cache: a pure function.

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_proto::wire::tessera::agent::v1::SyncEntriesResponse;
use tessera_proto::wire::tessera::types::v1::Entry;

/// The entry cache after a sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncResult {
    /// Every authorized entry, by ID (shared with the published snapshots).
    pub entries: BTreeMap<String, Arc<Entry>>,
    /// The revision to pass as `since_revision` next time.
    pub revision: u64,
}

/// The outcome of merging one sync's pages.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeOutcome {
    /// The cache is complete.
    Merged(SyncResult),
    /// An authorized entry is neither cached (at its revision) nor sent in full: sync
    /// again from revision 0.
    NeedsFullSync,
}

/// Merges the pages of one sync into `cached`: entries on no page's `authorized` list are
/// dropped, entries sent in full replace cached ones (moved, not copied), unchanged ones
/// stay shared, and an authorized entry the agent cannot reconstruct asks for a full sync.
pub fn merge_pages(
    cached: &BTreeMap<String, Arc<Entry>>,
    pages: Vec<SyncEntriesResponse>,
) -> MergeOutcome {
    let revision = pages.iter().map(|p| p.revision).max().unwrap_or_default();
    let mut full: BTreeMap<String, Entry> = BTreeMap::new();
    let mut authorized: BTreeMap<String, u64> = BTreeMap::new();
    for page in pages {
        for entry in page.entries {
            full.insert(entry.id.clone(), entry);
        }
        for a in page.authorized {
            authorized.insert(a.id, a.revision);
        }
    }
    let mut entries = BTreeMap::new();
    for (id, revision) in authorized {
        let entry = match (full.remove(&id), cached.get(&id)) {
            (Some(sent), _) => Arc::new(sent),
            (None, Some(held)) if held.revision == revision => held.clone(),
            _ => return MergeOutcome::NeedsFullSync,
        };
        entries.insert(id, entry);
    }
    MergeOutcome::Merged(SyncResult { entries, revision })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use tessera_proto::wire::tessera::agent::v1::EntryRevision;

    use super::*;

    fn entry(id: &str, revision: u64) -> Entry {
        Entry {
            id: id.into(),
            spiffe_id: format!("spiffe://example.org/{id}"),
            revision,
            ..Entry::default()
        }
    }

    fn page(
        full: &[Entry],
        authorized: &[(&str, u64)],
        revision: u64,
        next: &str,
    ) -> SyncEntriesResponse {
        SyncEntriesResponse {
            entries: full.to_vec(),
            authorized: authorized
                .iter()
                .map(|(id, r)| EntryRevision {
                    id: (*id).into(),
                    revision: *r,
                })
                .collect(),
            revision,
            next_page_token: next.into(),
        }
    }

    fn merged(outcome: MergeOutcome) -> SyncResult {
        match outcome {
            MergeOutcome::Merged(r) => r,
            MergeOutcome::NeedsFullSync => panic!("unexpected full sync"),
        }
    }

    #[test]
    fn first_sync_takes_every_page() {
        let pages = vec![
            page(
                &[entry("a", 1), entry("b", 2)],
                &[("a", 1), ("b", 2)],
                5,
                "p2",
            ),
            page(&[entry("c", 5)], &[("c", 5)], 5, ""),
        ];
        let r = merged(merge_pages(&BTreeMap::new(), pages));
        assert_eq!(r.revision, 5);
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn incremental_sync_keeps_unchanged_replaces_changed_drops_gone() {
        let cached: BTreeMap<String, Arc<Entry>> = [entry("a", 1), entry("b", 2), entry("c", 3)]
            .into_iter()
            .map(|e| (e.id.clone(), Arc::new(e)))
            .collect();
        let mut b2 = entry("b", 7);
        b2.hint = "changed".into();
        let pages = vec![
            page(&[], &[("a", 1)], 7, "next"),
            page(&[b2.clone(), entry("d", 6)], &[("b", 7), ("d", 6)], 7, ""),
        ];
        let r = merged(merge_pages(&cached, pages));
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["a", "b", "d"]);
        assert_eq!(*r.entries["b"], b2);
        assert_eq!(*r.entries["a"], entry("a", 1));
        // The unchanged entry is the cached one, shared, not a copy.
        assert!(Arc::ptr_eq(&r.entries["a"], &cached["a"]));
        assert_eq!(r.revision, 7);
    }

    #[test]
    fn missing_or_stale_entry_asks_for_a_full_sync() {
        let cached: BTreeMap<String, Arc<Entry>> = [("a".to_string(), Arc::new(entry("a", 1)))]
            .into_iter()
            .collect();
        // "z" is authorized but the agent never saw it.
        assert_eq!(
            merge_pages(&cached, vec![page(&[], &[("a", 1), ("z", 4)], 4, "")]),
            MergeOutcome::NeedsFullSync
        );
        // "a" moved to revision 3 but was not sent.
        assert_eq!(
            merge_pages(&cached, vec![page(&[], &[("a", 3)], 4, "")]),
            MergeOutcome::NeedsFullSync
        );
    }

    #[test]
    fn entries_sent_but_not_authorized_are_ignored() {
        let r = merged(merge_pages(
            &BTreeMap::new(),
            vec![page(&[entry("a", 1), entry("x", 1)], &[("a", 1)], 1, "")],
        ));
        assert_eq!(r.entries.keys().collect::<Vec<_>>(), ["a"]);
        let empty = merged(merge_pages(&r.entries, vec![page(&[], &[], 2, "")]));
        assert!(empty.entries.is_empty());
    }
}
