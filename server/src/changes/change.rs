//! One announced change.

/// Something that changed in the datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry was created, updated or deleted.
    Entry {
        /// The entries revision of the write (0 when unknown).
        revision: u64,
        /// Its parent ID before and after the write (one when unchanged, created or
        /// deleted): the agents that may be affected are those for which either parent
        /// is authorized (or is the agent itself).
        parents: Vec<String>,
    },
    /// The bundle of `trust_domain` (own or federated) was written or deleted.
    Bundle {
        /// The bundle's trust domain name.
        trust_domain: String,
    },
    /// Anything may have changed (announcements were lost): everyone syncs.
    Everything,
}

impl Change {
    /// An entry change from its parent before and after (equal parents appear once).
    pub fn entry(revision: u64, before: Option<&str>, after: Option<&str>) -> Self {
        let mut parents: Vec<String> = before.into_iter().map(str::to_owned).collect();
        if let Some(after) = after
            && before != Some(after)
        {
            parents.push(after.to_owned());
        }
        Self::Entry { revision, parents }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_change_names_each_parent_once() {
        assert_eq!(
            Change::entry(3, Some("a"), Some("a")),
            Change::Entry {
                revision: 3,
                parents: vec!["a".into()]
            }
        );
        assert_eq!(
            Change::entry(4, Some("a"), Some("b")),
            Change::Entry {
                revision: 4,
                parents: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            Change::entry(5, None, Some("b")),
            Change::Entry {
                revision: 5,
                parents: vec!["b".into()]
            }
        );
    }
}
