//! A sorted, deduplicated set of selectors that skips values the selector grammar refuses.

use std::collections::BTreeSet;

use tessera_proto::identity::Selector;

/// Collects selectors; sorted by type then value, without duplicates.
#[derive(Debug, Default, Clone)]
pub struct SelectorSet(BTreeSet<Selector>);

impl SelectorSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `kind:value`. A value the grammar refuses (empty, control characters, too
    /// long — e.g. an odd label or path) is skipped and logged, not an error: the workload
    /// then just lacks that selector.
    pub fn add(&mut self, kind: &str, value: impl AsRef<str>) {
        let value = value.as_ref();
        match Selector::new(kind, value) {
            Ok(s) => {
                self.0.insert(s);
            }
            Err(e) => tracing::debug!(
                kind,
                value_len = value.len(),
                error = %e,
                "skipping a selector value the grammar refuses"
            ),
        }
    }

    /// Adds every selector of `other`.
    pub fn extend(&mut self, other: SelectorSet) {
        self.0.extend(other.0);
    }

    /// The selectors, sorted and deduplicated.
    pub fn into_vec(self) -> Vec<Selector> {
        self.0.into_iter().collect()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
