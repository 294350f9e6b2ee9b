//! Which entries an agent may fetch SVIDs for.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;
use tessera_proto::identity::{Selector, SpiffeId};
use tessera_proto::wire::tessera::types::v1::Entry;

use crate::datastore::{DatastoreError, EntryStore};

fn live(entry: &Entry, now: i64) -> bool {
    entry.expires_at == 0 || entry.expires_at > now
}

/// The entries the agent `agent_id` (attested with `node_selectors`) is authorized for:
///
/// - entries parented to the agent;
/// - **node aliases**: entries parented to `server_id` whose selectors are all among
///   `node_selectors` (an alias without selectors matches nothing);
/// - recursively, entries parented to the SPIFFE ID of an entry already authorized.
///
/// Expired entries (`expires_at` set and ≤ `now`) are skipped and authorize nothing below
/// them. The walk is a breadth-first search over [`EntryStore::entries_by_parents`], a level
/// at a time, with a visited set, so cycles terminate and the cost is O(authorized entries +
/// node aliases) in rows and O(depth) in lookups.
/// The result is ordered by entry ID, without duplicates.
pub async fn authorized_entries(
    store: &impl EntryStore,
    agent_id: &SpiffeId,
    node_selectors: &[Selector],
    server_id: &SpiffeId,
    now: SystemTime,
) -> Result<Vec<Entry>, DatastoreError> {
    let now = unix_seconds(now);
    let node: HashSet<(&str, &str)> = node_selectors
        .iter()
        .map(|s| (s.kind(), s.value()))
        .collect();
    let mut found: BTreeMap<String, Entry> = BTreeMap::new();
    // Parent IDs already expanded (or queued): each is looked up at most once.
    let mut expanded: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    expanded.insert(agent_id.to_string());
    queue.push_back(agent_id.to_string());

    if expanded.insert(server_id.to_string()) {
        for alias in store.entries_by_parent(server_id.as_str()).await? {
            let matches = !alias.selectors.is_empty()
                && alias
                    .selectors
                    .iter()
                    .all(|s| node.contains(&(s.r#type.as_str(), s.value.as_str())));
            if matches && live(&alias, now) {
                if expanded.insert(alias.spiffe_id.clone()) {
                    queue.push_back(alias.spiffe_id.clone());
                }
                found.insert(alias.id.clone(), alias);
            }
        }
    }

    // Level by level: one lookup for every parent of a level.
    while !queue.is_empty() {
        let level: Vec<String> = queue.drain(..).collect();
        for child in store.entries_by_parents(&level).await? {
            if !live(&child, now) || found.contains_key(&child.id) {
                continue;
            }
            if expanded.insert(child.spiffe_id.clone()) {
                queue.push_back(child.spiffe_id.clone());
            }
            found.insert(child.id.clone(), child);
        }
    }
    Ok(found.into_values().collect())
}

#[cfg(test)]
#[path = "authorized_tests.rs"]
mod tests;
