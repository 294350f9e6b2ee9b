//! Reconcile as a pure diff: desired entries against the entries this controller owns.

use std::collections::BTreeMap;

use tessera_proto::wire::tessera::types::v1::Entry;

/// What to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Desired entries no owned entry has the ID of.
    pub create: Vec<Entry>,
    /// Desired entries whose owned entry differs (stored `created_at` kept).
    pub update: Vec<Entry>,
    /// IDs of owned entries nothing desires.
    pub delete: Vec<String>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// An entry without what the store assigns (`revision`, `created_at`).
fn content(e: &Entry) -> Entry {
    Entry {
        revision: 0,
        created_at: 0,
        ..e.clone()
    }
}

/// The plan that turns `owned` (entries whose `managed_by` is `managed_by`; any other entry
/// is ignored, so a manual entry is never updated or deleted) into `desired`.
pub fn plan(desired: &BTreeMap<String, Entry>, owned: &[Entry], managed_by: &str) -> Plan {
    let owned: BTreeMap<&str, &Entry> = owned
        .iter()
        .filter(|e| e.managed_by == managed_by)
        .map(|e| (e.id.as_str(), e))
        .collect();
    let mut out = Plan::default();
    for (id, want) in desired {
        match owned.get(id.as_str()) {
            None => out.create.push(want.clone()),
            Some(have) if content(have) != content(want) => out.update.push(Entry {
                created_at: have.created_at,
                ..want.clone()
            }),
            Some(_) => {}
        }
    }
    out.delete = owned
        .keys()
        .filter(|id| !desired.contains_key(**id))
        .map(|id| id.to_string())
        .collect();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINE: &str = "k8s_registration/prod";

    fn entry(id: &str, spiffe: &str, managed_by: &str) -> Entry {
        Entry {
            id: id.into(),
            spiffe_id: spiffe.into(),
            parent_id: "spiffe://td/agent".into(),
            managed_by: managed_by.into(),
            ..Entry::default()
        }
    }

    fn desired(entries: &[Entry]) -> BTreeMap<String, Entry> {
        entries.iter().map(|e| (e.id.clone(), e.clone())).collect()
    }

    #[test]
    fn create_update_delete() {
        let want = desired(&[
            entry("a", "spiffe://td/a", MINE),
            entry("b", "spiffe://td/b2", MINE),
        ]);
        let mut b = entry("b", "spiffe://td/b", MINE);
        b.created_at = 7;
        b.revision = 3;
        let have = [b, entry("c", "spiffe://td/c", MINE)];
        let p = plan(&want, &have, MINE);
        assert_eq!(p.create.iter().map(|e| &e.id).collect::<Vec<_>>(), ["a"]);
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.update[0].spiffe_id, "spiffe://td/b2");
        assert_eq!(p.update[0].created_at, 7, "created_at is kept");
        assert_eq!(p.delete, ["c"]);
    }

    #[test]
    fn unchanged_is_a_no_op_whatever_the_store_assigned() {
        let want = desired(&[entry("a", "spiffe://td/a", MINE)]);
        let mut have = entry("a", "spiffe://td/a", MINE);
        have.revision = 42;
        have.created_at = 1_700_000_000;
        assert!(plan(&want, &[have], MINE).is_empty());
    }

    #[test]
    fn foreign_and_manual_entries_are_never_touched() {
        // A manual entry with the very ID and content the controller wants, and another
        // cluster's entry: neither is updated nor deleted.
        let want = desired(&[entry("a", "spiffe://td/a", MINE)]);
        let have = [
            entry("a", "spiffe://td/other", ""),
            entry("z", "spiffe://td/z", ""),
            entry("y", "spiffe://td/y", "k8s_registration/staging"),
        ];
        let p = plan(&want, &have, MINE);
        // The create will fail (the ID is taken) and be reported; nothing else happens.
        assert_eq!(p.create.len(), 1);
        assert!(p.update.is_empty());
        assert!(p.delete.is_empty());
    }
}
