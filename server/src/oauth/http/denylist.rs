//! Revoked access-token `jti`s, each a datastore record until the token's own expiry: a
//! token revoked at one replica is inactive at every other one, and stays revoked across
//! restarts. Revocation is bounded by the revoking client's rate limit (a client revokes
//! only its own tokens); expired rows are pruned in expiry order (an index, never a scan).

use std::sync::Arc;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use crate::datastore::ExpiringKind;
use crate::oauth::state::{Records, StateError, StateStore, digest};

/// Revoked access-token ids.
#[derive(Debug, Clone)]
pub(crate) struct Denylist {
    records: Records<()>,
}

impl Denylist {
    /// The denylist in `store`.
    pub(crate) fn new(store: Arc<dyn StateStore>) -> Self {
        Self {
            records: Records::new(store, ExpiringKind::RevokedJti),
        }
    }

    /// Denies `jti` until `exp` (nothing to do for a token already expired at `now`).
    pub(crate) async fn insert(
        &self,
        jti: &str,
        exp: SystemTime,
        now: SystemTime,
    ) -> Result<(), StateError> {
        if exp <= now {
            return Ok(());
        }
        // Already revoked (a live record): nothing changes either way.
        self.records
            .create(
                &digest(&[jti.as_bytes()]),
                &[],
                &(),
                unix_seconds(now),
                unix_seconds(exp),
            )
            .await
            .map(|_| ())
    }

    /// Whether `jti` is revoked at `now`.
    pub(crate) async fn contains(&self, jti: &str, now: SystemTime) -> Result<bool, StateError> {
        Ok(self
            .records
            .get(&digest(&[jti.as_bytes()]), unix_seconds(now))
            .await?
            .is_some())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::datastore::ExpiringStore as _;
    use crate::datastore::memory::MemoryStore;

    #[tokio::test]
    async fn a_revoked_jti_is_denied_until_the_token_expires_then_pruned() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let store = MemoryStore::default();
        let list = Denylist::new(Arc::new(store.clone()));
        list.insert("j1", t0 + Duration::from_secs(10), t0)
            .await
            .unwrap();
        list.insert("j1", t0 + Duration::from_secs(10), t0)
            .await
            .unwrap();
        assert!(list.contains("j1", t0).await.unwrap());
        assert!(!list.contains("j2", t0).await.unwrap());
        assert!(
            !list
                .contains("j1", t0 + Duration::from_secs(10))
                .await
                .unwrap()
        );
        list.insert("gone", t0, t0).await.unwrap();
        assert_eq!(
            store.prune_expiring(1_010).await.unwrap(),
            1,
            "only j1 was stored"
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_is_an_error_not_a_pass() {
        let list = Denylist::new(Arc::new(crate::oauth::state::test_support::Down));
        let now = SystemTime::UNIX_EPOCH;
        assert!(list.contains("j1", now).await.is_err());
        assert!(
            list.insert("j1", now + std::time::Duration::from_secs(1), now)
                .await
                .is_err()
        );
    }
}
