//! Single use of client assertions (RFC 7523 §3 item 7): a `(client_id, jti)` seen once is
//! refused until the assertion could no longer be accepted anyway.
//!
//! The `jti`s are records in the datastore ([`crate::oauth::state`]), keyed by the SHA-256
//! of (client ID, `jti`) and expiring with the assertion: an assertion used at one replica
//! is refused at every other one, and a restart forgets nothing. Insert-if-absent is one
//! atomic datastore operation, so of two concurrent uses exactly one is accepted. A `jti`
//! is stored only for requests the rate limiter admitted, so a client fills the table no
//! faster than its rate (×5 min lifetime); expired rows are pruned. A datastore failure
//! refuses the assertion (fail closed, answered 503).

use std::sync::Arc;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use crate::datastore::ExpiringKind;
use crate::oauth::state::{Records, StateError, StateStore, digest};

/// Why an assertion's `jti` was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// This client already used this `jti` and the assertion has not expired.
    #[error("assertion jti was already used")]
    Replayed,
    /// The datastore could not record it (answered as temporarily unavailable).
    #[error("assertion jti could not be recorded: {0}")]
    Store(#[from] StateError),
}

/// Remembered `(client_id, jti)` pairs, each until the assertion expires.
#[derive(Debug, Clone)]
pub struct ReplayCache {
    records: Records<()>,
}

impl ReplayCache {
    /// The `jti`s in `store`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self {
            records: Records::new(store, ExpiringKind::AssertionJti),
        }
    }

    /// Accepts `jti` of `client_id` once: remembers it until `until`, refuses it if already
    /// seen and not yet forgettable at `now`.
    pub async fn check_and_remember(
        &self,
        client_id: &str,
        jti: &str,
        until: SystemTime,
        now: SystemTime,
    ) -> Result<(), ReplayError> {
        let key = digest(&[client_id.as_bytes(), jti.as_bytes()]);
        let created = self
            .records
            .create(&key, &[], &(), unix_seconds(now), unix_seconds(until))
            .await?;
        if created {
            Ok(())
        } else {
            Err(ReplayError::Replayed)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::datastore::memory::MemoryStore;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn a_jti_is_single_use_per_client_until_it_expires() {
        let cache = ReplayCache::new(Arc::new(MemoryStore::default()));
        let check = |client: &'static str, jti: &'static str, until, now| {
            let cache = cache.clone();
            async move {
                cache
                    .check_and_remember(client, jti, at(until), at(now))
                    .await
            }
        };
        check("a", "j1", 100, 10).await.unwrap();
        assert!(matches!(
            check("a", "j1", 100, 99).await,
            Err(ReplayError::Replayed)
        ));
        check("b", "j1", 100, 10)
            .await
            .expect("jti is scoped per client");
        check("a", "j1", 200, 100)
            .await
            .expect("forgotten once expired (the assertion itself is refused as expired by then)");
    }

    /// A datastore that cannot be reached refuses every assertion (fail closed, 503).
    #[tokio::test]
    async fn an_unreachable_store_refuses_the_assertion() {
        let cache = ReplayCache::new(Arc::new(crate::oauth::state::test_support::Down));
        let refused = cache.check_and_remember("a", "j1", at(100), at(10)).await;
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err(
                "assertion jti could not be recorded: state store: datastore unavailable: down"
                    .into()
            )
        );
    }
}
