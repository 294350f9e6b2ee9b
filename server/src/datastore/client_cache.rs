//! A per-replica cache of OAuth clients and their secret records, so a busy client costs
//! no database round trip (PostgreSQL) and no read and decoding of two records (sled) per
//! token.
//!
//! Staleness is bounded by the TTL (`[datastore] client_cache_ttl` on PostgreSQL): a change
//! made through this replica is seen by it at once (its writes invalidate the entry), a
//! change made through another replica within the TTL. sled has no other replica: every
//! change goes through the store, so its cache is never stale. Only clients that exist are cached (an unknown
//! ID is always looked up), and at most [`MAX_ENTRIES`] of them, so input cannot grow it.
//! A lookup that raced with a local change is not cached (the invalidation epoch moved).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use tokio::time::Instant;

use crate::datastore::SecretRecord;

/// Most clients held at once.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// A client and its secret record as read together.
#[derive(Debug)]
pub(crate) struct CachedClient {
    pub(crate) client: OAuthClient,
    pub(crate) secret: Option<SecretRecord>,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    /// Shared, so a hit costs a reference count, not a copy of the client.
    value: Arc<CachedClient>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Moves at every invalidation.
    epoch: u64,
}

/// The cache (shared by the store's clones).
#[derive(Debug)]
pub(crate) struct ClientCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

/// Where a lookup started: pass it back to [`ClientCache::insert`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl ClientCache {
    /// A cache holding entries for `ttl` (zero: nothing is cached).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (every
        // critical section is a single map operation), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fresh entry for `client_id`, or a ticket to insert what the database returns.
    pub(crate) fn get(&self, client_id: &str) -> Result<Arc<CachedClient>, Ticket> {
        let inner = self.lock();
        match inner.entries.get(client_id) {
            Some(e) if !self.ttl.is_zero() && e.at.elapsed() < self.ttl => Ok(Arc::clone(&e.value)),
            _ => Err(Ticket(inner.epoch)),
        }
    }

    /// Caches `value` read after `ticket` was taken, unless something was invalidated
    /// since (the read may predate that change) or the cache is full of fresh entries.
    pub(crate) fn insert(&self, ticket: Ticket, client_id: &str, value: Arc<CachedClient>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.epoch != ticket.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(client_id) {
            let ttl = self.ttl;
            inner.entries.retain(|_, e| e.at.elapsed() < ttl);
            if inner.entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let entry = Entry {
            at: Instant::now(),
            value,
        };
        inner.entries.insert(client_id.to_owned(), entry);
    }

    /// Forgets `client_id` (this replica changed or deleted it).
    pub(crate) fn invalidate(&self, client_id: &str) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.remove(client_id);
    }

    /// Forgets every entry (the tenant whose clients these are was deleted).
    pub(crate) fn clear(&self) {
        self.invalidate_prefix("");
    }

    /// Forgets every entry whose key starts with `prefix` (a tenant was deleted).
    pub(crate) fn invalidate_prefix(&self, prefix: &str) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.retain(|key, _| !key.starts_with(prefix));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client(id: &str, enabled: bool) -> Arc<CachedClient> {
        Arc::new(CachedClient {
            client: OAuthClient {
                client_id: id.into(),
                enabled,
                ..Default::default()
            },
            secret: None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl() {
        let cache = ClientCache::new(Duration::from_secs(1));
        let ticket = cache.get("a").unwrap_err();
        cache.insert(ticket, "a", client("a", true));
        assert!(cache.get("a").unwrap().client.enabled);
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(cache.get("a").is_ok());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(cache.get("a").is_err(), "stale after the TTL");
    }

    #[tokio::test(start_paused = true)]
    async fn a_local_change_invalidates_and_a_racing_read_is_not_cached() {
        let cache = ClientCache::new(Duration::from_secs(60));
        let ticket = cache.get("a").unwrap_err();
        cache.insert(ticket, "a", client("a", true));
        cache.invalidate("a");
        assert!(cache.get("a").is_err(), "gone at once");
        // A read that started before a change must not be cached after it.
        let before = cache.get("a").unwrap_err();
        cache.invalidate("a");
        cache.insert(before, "a", client("a", true));
        assert!(cache.get("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_caches_nothing() {
        let cache = ClientCache::new(Duration::ZERO);
        let ticket = cache.get("a").unwrap_err();
        cache.insert(ticket, "a", client("a", true));
        assert!(cache.get("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_is_bounded() {
        let cache = ClientCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 10 {
            let id = format!("c{i}");
            let ticket = cache.get(&id).unwrap_err();
            cache.insert(ticket, &id, client(&id, true));
        }
        assert_eq!(cache.lock().entries.len(), MAX_ENTRIES);
        // Once the entries are stale, room is made.
        tokio::time::advance(Duration::from_secs(61)).await;
        let ticket = cache.get("new").unwrap_err();
        cache.insert(ticket, "new", client("new", true));
        assert!(cache.get("new").is_ok());
        assert_eq!(cache.lock().entries.len(), 1);
    }
}
