//! The entries authorized for an agent, kept between its calls while nothing they depend
//! on changed: one sync round of an agent with N entries makes ~N/500 `SyncEntries` pages
//! and ~N/100 `BatchNewX509Svid` calls, and each used to walk the entry graph again.
//!
//! Exact, not stale: a set is reused only while the datastore's entries revision (bumped
//! by every entry create, update and delete) is the one read *before* it was computed,
//! for the same agent ID and node selectors, and before the earliest expiry among its
//! entries (an entry that expires drops out, with what hangs under it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tessera_proto::wire::tessera::types::v1::Entry;

/// Agents whose sets are kept (the least recently used goes first).
const MAX_AGENTS: usize = 64;

/// Who asks: the agent and the node selectors it attested with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CacheKey {
    pub(super) agent_id: String,
    pub(super) selectors: Vec<(String, String)>,
}

#[derive(Debug)]
struct Cached {
    revision: u64,
    /// Unix seconds from which an entry of the set has expired (`i64::MAX`: none expires).
    valid_until: i64,
    entries: Arc<Vec<Entry>>,
    last_used: u64,
}

/// Authorized-entry sets by agent, at most [`MAX_AGENTS`].
#[derive(Debug, Default)]
pub(super) struct AuthorizedCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sets: HashMap<CacheKey, Cached>,
    clock: u64,
}

impl AuthorizedCache {
    /// The set computed for `key` at entries `revision`, if still exact at `now` (unix
    /// seconds).
    pub(super) fn get(&self, key: &CacheKey, revision: u64, now: i64) -> Option<Arc<Vec<Entry>>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let tick = inner.clock;
        let cached = inner.sets.get_mut(key)?;
        if cached.revision != revision || now >= cached.valid_until {
            return None;
        }
        cached.last_used = tick;
        Some(cached.entries.clone())
    }

    /// Keeps `entries` (the walk's result, sorted by ID) for `key` at `revision`, which was
    /// read before the walk.
    pub(super) fn put(&self, key: CacheKey, revision: u64, entries: Vec<Entry>) -> Arc<Vec<Entry>> {
        let valid_until = entries
            .iter()
            .map(|e| e.expires_at)
            .filter(|&t| t != 0)
            .min()
            .unwrap_or(i64::MAX);
        let entries = Arc::new(entries);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let tick = inner.clock;
        if inner.sets.len() >= MAX_AGENTS && !inner.sets.contains_key(&key) {
            let oldest = inner
                .sets
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.sets.remove(&oldest);
            }
        }
        inner.sets.insert(
            key,
            Cached {
                revision,
                valid_until,
                entries: entries.clone(),
                last_used: tick,
            },
        );
        entries
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(agent: &str) -> CacheKey {
        CacheKey {
            agent_id: agent.into(),
            selectors: vec![("join_token".into(), "t".into())],
        }
    }

    fn entry(id: &str, expires_at: i64) -> Entry {
        Entry {
            id: id.into(),
            expires_at,
            ..Entry::default()
        }
    }

    #[test]
    fn reused_only_at_the_same_revision_for_the_same_agent() {
        let cache = AuthorizedCache::default();
        assert!(cache.get(&key("a"), 1, 0).is_none());
        cache.put(key("a"), 1, vec![entry("x", 0)]);
        assert_eq!(cache.get(&key("a"), 1, 0).unwrap()[0].id, "x");
        assert!(cache.get(&key("a"), 2, 0).is_none(), "an entry changed");
        assert!(cache.get(&key("b"), 1, 0).is_none(), "another agent");
        let mut other_selectors = key("a");
        other_selectors.selectors.clear();
        assert!(cache.get(&other_selectors, 1, 0).is_none());
    }

    #[test]
    fn not_reused_once_an_entry_expired() {
        let cache = AuthorizedCache::default();
        cache.put(
            key("a"),
            1,
            vec![entry("x", 0), entry("y", 100), entry("z", 50)],
        );
        assert!(cache.get(&key("a"), 1, 49).is_some());
        assert!(cache.get(&key("a"), 1, 50).is_none());
    }

    #[test]
    fn the_least_recently_used_agent_goes_first() {
        let cache = AuthorizedCache::default();
        for i in 0..MAX_AGENTS {
            cache.put(key(&i.to_string()), 1, Vec::new());
        }
        assert!(cache.get(&key("0"), 1, 0).is_some());
        cache.put(key("new"), 1, Vec::new());
        assert!(cache.get(&key("0"), 1, 0).is_some(), "recently used: kept");
        assert!(
            cache.get(&key("1"), 1, 0).is_none(),
            "least recently used: gone"
        );
        assert!(cache.get(&key("new"), 1, 0).is_some());
    }
}
