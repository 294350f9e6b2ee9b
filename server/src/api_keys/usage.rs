//! Last use of each key (time, source), kept in memory and written to the datastore by a
//! background task every `[api_keys] last_used_flush_interval`: never a datastore write
//! per request. A crash loses at most one interval of last-use records.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::datastore::{ApiKeyStore, TenantId, TenantScope};

/// A use waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Use {
    at: i64,
    from: Option<IpAddr>,
}

/// Uses noted since the last flush, by (tenant, key ID). Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct UsageLog {
    pending: Arc<Mutex<HashMap<(TenantId, String), Use>>>,
}

impl UsageLog {
    /// Notes a use of `key_id` at `at` (Unix seconds) from `from`; the latest use wins.
    pub fn note(&self, tenant: &TenantId, key_id: &str, at: i64, from: Option<IpAddr>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pending
            .entry((tenant.clone(), key_id.to_owned()))
            .or_insert(Use { at, from });
        if at >= entry.at {
            *entry = Use { at, from };
        }
    }

    /// Whether a use of `key_id` is waiting to be written.
    pub fn is_pending(&self, tenant: &TenantId, key_id: &str) -> bool {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.contains_key(&(tenant.clone(), key_id.to_owned()))
    }

    /// Takes every noted use.
    fn drain(&self) -> Vec<((TenantId, String), Use)> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.drain().collect()
    }

    /// Writes every noted use to `store` (scoped to each use's tenant); a failed write is
    /// logged and dropped (last use is advisory). Returns how many were written.
    pub async fn flush<S: ApiKeyStore + TenantScope>(&self, store: &S) -> usize {
        let mut written = 0;
        for ((tenant, id), used) in self.drain() {
            let from = used.from.map(|ip| ip.to_string());
            let result = match store.for_tenant(&tenant) {
                Ok(scoped) => {
                    scoped
                        .record_api_key_use(&id, used.at, from.as_deref())
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => written += 1,
                Err(e) => {
                    tracing::warn!(%tenant, key_id = %id, error = %e, "recording API key use failed");
                }
            }
        }
        written
    }
}

/// The background task writing a [`UsageLog`] every interval, and once more at shutdown.
#[derive(Debug)]
pub struct UsageFlusher<S> {
    log: UsageLog,
    store: S,
    every: Duration,
}

impl<S: ApiKeyStore + TenantScope> UsageFlusher<S> {
    /// Writes `log` to `store` every `every`.
    pub fn new(log: UsageLog, store: S, every: Duration) -> Self {
        Self { log, store, every }
    }

    /// Runs until `shutdown`, then writes what is left.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            self.log.flush(&self.store).await;
        }
        self.log.flush(&self.store).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::api_key_store_tests::record;
    use crate::datastore::memory::MemoryStore;
    use crate::datastore::{ApiKeyOwner, TenantId};

    #[tokio::test(start_paused = true)]
    async fn uses_are_written_at_the_interval_not_per_request() {
        let store = MemoryStore::default();
        store
            .create_api_key(&record("ak_1", ApiKeyOwner::User("u".into())))
            .await
            .unwrap();
        let log = UsageLog::default();
        let tenant = TenantId::default_tenant();
        log.note(&tenant, "ak_1", 200, Some("10.0.0.1".parse().unwrap()));
        log.note(&tenant, "ak_1", 150, Some("10.0.0.9".parse().unwrap()));
        assert!(log.is_pending(&tenant, "ak_1"));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(
            UsageFlusher::new(log.clone(), store.clone(), Duration::from_secs(30))
                .run(shutdown.clone()),
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(
            store
                .get_api_key("ak_1")
                .await
                .unwrap()
                .unwrap()
                .last_used_at,
            None
        );
        tokio::time::sleep(Duration::from_secs(25)).await;
        let stored = store.get_api_key("ak_1").await.unwrap().unwrap();
        assert_eq!(stored.last_used_at, Some(200));
        assert_eq!(stored.last_used_from.as_deref(), Some("10.0.0.1"));
        assert!(!log.is_pending(&tenant, "ak_1"));
        // What is noted after the last tick is written at shutdown.
        log.note(&tenant, "ak_1", 300, None);
        shutdown.cancel();
        task.await.unwrap();
        let stored = store.get_api_key("ak_1").await.unwrap().unwrap();
        assert_eq!(stored.last_used_at, Some(300));
    }
}
