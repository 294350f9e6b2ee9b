//! Single use of client assertions (RFC 7523 §3 item 7): a `(client_id, jti)` seen once is
//! refused until the assertion could no longer be accepted anyway.
//!
//! The cache is **in memory, per server process**: with several replicas behind a load
//! balancer an assertion could be replayed once against each replica within its (short,
//! at most five minutes) lifetime. It is bounded: expired entries are pruned when it fills;
//! if it is still full, new assertions are refused (fail closed) rather than remembered
//! partially.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Default number of remembered assertions (at 300 s lifetimes: ~330 new assertions per
/// second sustained before it fills).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Why an assertion's `jti` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This client already used this `jti` and the assertion has not expired.
    #[error("assertion jti was already used")]
    Replayed,
    /// The cache is full of unexpired entries (answered as temporarily unavailable).
    #[error("assertion replay cache is full")]
    Full,
}

/// Remembered `(client_id, jti)` pairs with the instant they may be forgotten.
#[derive(Debug)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, String), SystemTime>>,
    capacity: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayCache {
    /// A cache remembering at most `capacity` assertions.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Accepts `jti` of `client_id` once: remembers it until `until`, refuses it if already
    /// seen and not yet forgettable at `now`.
    pub fn check_and_remember(
        &self,
        client_id: &str,
        jti: &str,
        until: SystemTime,
        now: SystemTime,
    ) -> Result<(), ReplayError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (client_id.to_owned(), jti.to_owned());
        if seen.get(&key).is_some_and(|expiry| *expiry > now) {
            return Err(ReplayError::Replayed);
        }
        if seen.len() >= self.capacity && !seen.contains_key(&key) {
            seen.retain(|_, expiry| *expiry > now);
            if seen.len() >= self.capacity {
                return Err(ReplayError::Full);
            }
        }
        seen.insert(key, until);
        Ok(())
    }

    /// How many assertions are remembered.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
