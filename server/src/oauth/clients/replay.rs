//! Single use of client assertions (RFC 7523 §3 item 7): a `(client_id, jti)` seen once is
//! refused until the assertion could no longer be accepted anyway.
//!
//! The cache is **in memory, per server process**: with several replicas behind a load
//! balancer an assertion could be replayed once against each replica within its (short,
//! at most five minutes) lifetime. It is bounded in total and per client: expired entries
//! are pruned when a bound is reached; if it is still reached, new assertions are refused
//! (fail closed) rather than remembered partially — for one client only when that client
//! holds its share. Entries are stored only for requests the rate limiter admitted.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Default number of remembered assertions (at 300 s lifetimes: ~330 new assertions per
/// second sustained before it fills).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Default number of assertions remembered per client: one client (whose requests already
/// passed its rate limit) cannot take more than this share of the cache.
pub const DEFAULT_REPLAY_PER_CLIENT: usize = 10_000;

/// Why an assertion's `jti` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This client already used this `jti` and the assertion has not expired.
    #[error("assertion jti was already used")]
    Replayed,
    /// The cache is full of unexpired entries (answered as temporarily unavailable).
    #[error("assertion replay cache is full")]
    Full,
    /// This client holds its whole share of unexpired entries (answered as temporarily
    /// unavailable to this client only).
    #[error("assertion replay cache is full for this client")]
    ClientFull,
}

#[derive(Debug, Default)]
struct Seen {
    by_client: HashMap<String, HashMap<String, SystemTime>>,
    total: usize,
}

impl Seen {
    fn prune_client(&mut self, client_id: &str, now: SystemTime) {
        if let Some(jtis) = self.by_client.get_mut(client_id) {
            let before = jtis.len();
            jtis.retain(|_, expiry| *expiry > now);
            self.total -= before - jtis.len();
            if jtis.is_empty() {
                self.by_client.remove(client_id);
            }
        }
    }

    fn prune_all(&mut self, now: SystemTime) {
        self.by_client
            .values_mut()
            .for_each(|jtis| jtis.retain(|_, expiry| *expiry > now));
        self.by_client.retain(|_, jtis| !jtis.is_empty());
        self.total = self.by_client.values().map(HashMap::len).sum();
    }
}

/// Remembered `(client_id, jti)` pairs with the instant they may be forgotten, bounded in
/// total and per client.
#[derive(Debug)]
pub struct ReplayCache {
    seen: Mutex<Seen>,
    capacity: usize,
    per_client: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::with_limits(DEFAULT_REPLAY_CAPACITY, DEFAULT_REPLAY_PER_CLIENT)
    }
}

impl ReplayCache {
    /// A cache remembering at most `capacity` assertions, with no smaller per-client share.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(capacity, capacity)
    }

    /// A cache remembering at most `capacity` assertions, `per_client` of one client.
    pub fn with_limits(capacity: usize, per_client: usize) -> Self {
        Self {
            seen: Mutex::new(Seen::default()),
            capacity,
            per_client,
        }
    }

    /// Accepts `jti` of `client_id` once: remembers it until `until`, refuses it if already
    /// seen and not yet forgettable at `now`. A client at its share is refused
    /// ([`ReplayError::ClientFull`]) without touching the others' room.
    pub fn check_and_remember(
        &self,
        client_id: &str,
        jti: &str,
        until: SystemTime,
        now: SystemTime,
    ) -> Result<(), ReplayError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let held = seen.by_client.get(client_id);
        if held
            .and_then(|jtis| jtis.get(jti))
            .is_some_and(|expiry| *expiry > now)
        {
            return Err(ReplayError::Replayed);
        }
        let known = held.is_some_and(|jtis| jtis.contains_key(jti));
        if !known {
            if seen.total >= self.capacity {
                seen.prune_all(now);
                if seen.total >= self.capacity {
                    return Err(ReplayError::Full);
                }
            }
            if seen
                .by_client
                .get(client_id)
                .is_some_and(|jtis| jtis.len() >= self.per_client)
            {
                seen.prune_client(client_id, now);
                if seen
                    .by_client
                    .get(client_id)
                    .is_some_and(|jtis| jtis.len() >= self.per_client)
                {
                    return Err(ReplayError::ClientFull);
                }
            }
            seen.total += 1;
        }
        seen.by_client
            .entry(client_id.to_owned())
            .or_default()
            .insert(jti.to_owned(), until);
        Ok(())
    }

    /// How many assertions are remembered.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_jti_is_single_use_per_client_until_it_expires() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.check_and_remember("a", "j1", at(100), at(10)), Ok(()));
        assert_eq!(
            cache.check_and_remember("a", "j1", at(100), at(99)),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            cache.check_and_remember("b", "j1", at(100), at(10)),
            Ok(()),
            "jti is scoped per client"
        );
        assert_eq!(
            cache.check_and_remember("a", "j1", at(200), at(100)),
            Ok(()),
            "forgotten once expired (the assertion itself is refused as expired by then)"
        );
    }

    /// Issue 11 §11: one client filling its share does not lock the others out.
    #[test]
    fn one_client_cannot_take_the_whole_cache() {
        let cache = ReplayCache::with_limits(10, 3);
        for jti in ["1", "2", "3"] {
            cache.check_and_remember("a", jti, at(100), at(10)).unwrap();
        }
        assert_eq!(
            cache.check_and_remember("a", "4", at(100), at(10)),
            Err(ReplayError::ClientFull)
        );
        assert_eq!(cache.check_and_remember("b", "1", at(100), at(10)), Ok(()));
        assert_eq!(cache.len(), 4);
        // Its expired entries make room again.
        assert_eq!(cache.check_and_remember("a", "4", at(200), at(100)), Ok(()));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_full_cache_prunes_expired_entries_then_fails_closed() {
        let cache = ReplayCache::new(2);
        cache.check_and_remember("a", "1", at(50), at(10)).unwrap();
        cache.check_and_remember("a", "2", at(100), at(10)).unwrap();
        assert_eq!(
            cache.check_and_remember("a", "3", at(100), at(20)),
            Err(ReplayError::Full)
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.check_and_remember("a", "3", at(100), at(60)), Ok(()));
        assert_eq!(cache.len(), 2, "the expired entry was pruned");
        assert_eq!(
            cache.check_and_remember("a", "2", at(100), at(60)),
            Err(ReplayError::Replayed),
            "pruning keeps live entries"
        );
    }
}
