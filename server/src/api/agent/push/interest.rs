//! Which changes concern an agent: a pure filter over announced changes.

use std::collections::HashSet;
use std::time::SystemTime;

use tessera_proto::identity::{Selector, SpiffeId};
use tessera_proto::wire::tessera::types::v1::Entry;

use crate::changes::Change;
use crate::datastore::{DatastoreError, EntryStore};
use crate::registration::authorized_entries;

/// The parent IDs under which an entry change may alter what an agent is authorized for:
/// the agent itself, the server (node aliases: their selectors are not in the announcement,
/// so an alias change concerns every agent), and the SPIFFE ID of every entry it is
/// authorized for (their children are authorized too). An entry written under any other
/// parent cannot reach the agent: the authorized set is the closure of these parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    parents: HashSet<String>,
}

impl Interest {
    /// The interest of `agent_id` authorized for `entries`.
    pub fn new(agent_id: &SpiffeId, server_id: &SpiffeId, entries: &[Entry]) -> Self {
        let mut parents: HashSet<String> = entries.iter().map(|e| e.spiffe_id.clone()).collect();
        parents.insert(agent_id.to_string());
        parents.insert(server_id.to_string());
        Self { parents }
    }

    /// Reads the agent's authorized entries from `store` at `now`.
    pub async fn read(
        store: &impl EntryStore,
        agent_id: &SpiffeId,
        node_selectors: &[Selector],
        server_id: &SpiffeId,
        now: SystemTime,
    ) -> Result<Self, DatastoreError> {
        let entries = authorized_entries(store, agent_id, node_selectors, server_id, now).await?;
        Ok(Self::new(agent_id, server_id, &entries))
    }

    /// Whether `change` may alter what the agent holds. Bundles concern every agent (each
    /// holds its trust domain's bundle; federated ones are cheap to re-fetch).
    pub fn wants(&self, change: &Change) -> bool {
        match change {
            Change::Entry { parents, .. } => parents.iter().any(|p| self.parents.contains(p)),
            Change::Bundle { .. } | Change::Everything => true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const AGENT: &str = "spiffe://example.org/tessera/agent/join_token/a";
    const SERVER: &str = "spiffe://example.org/tessera/server";

    fn entry(spiffe_id: &str, parent_id: &str) -> Entry {
        Entry {
            id: spiffe_id.into(),
            spiffe_id: spiffe_id.into(),
            parent_id: parent_id.into(),
            ..Entry::default()
        }
    }

    fn interest(entries: &[Entry]) -> Interest {
        Interest::new(&AGENT.parse().unwrap(), &SERVER.parse().unwrap(), entries)
    }

    #[test]
    fn entries_under_the_agent_its_entries_or_the_server_concern_it() {
        let i = interest(&[
            entry("spiffe://example.org/web", AGENT),
            entry(
                "spiffe://example.org/web/sidecar",
                "spiffe://example.org/web",
            ),
        ]);
        let under = |p: &str| Change::entry(9, Some(p), None);
        assert!(i.wants(&under(AGENT)), "a new entry for the agent");
        assert!(i.wants(&under("spiffe://example.org/web")), "a child");
        assert!(i.wants(&under("spiffe://example.org/web/sidecar")));
        assert!(i.wants(&under(SERVER)), "a node alias may match");
        assert!(
            !i.wants(&under("spiffe://example.org/tessera/agent/join_token/b")),
            "another agent's entry"
        );
        assert!(!i.wants(&under("spiffe://example.org/elsewhere")));
    }

    #[test]
    fn a_move_concerns_both_the_old_and_the_new_parent() {
        let i = interest(&[]);
        let other = "spiffe://example.org/tessera/agent/join_token/b";
        assert!(
            i.wants(&Change::entry(3, Some(AGENT), Some(other))),
            "moved away"
        );
        assert!(
            i.wants(&Change::entry(3, Some(other), Some(AGENT))),
            "moved here"
        );
        assert!(!i.wants(&Change::entry(3, Some(other), Some(other))));
    }

    #[test]
    fn bundles_and_lost_announcements_concern_everyone() {
        let i = interest(&[]);
        assert!(i.wants(&Change::Everything));
        assert!(i.wants(&Change::Bundle {
            trust_domain: "other.org".into()
        }));
    }
}
