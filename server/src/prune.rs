//! [`Pruner`]: deletes what has expired (join tokens, refresh-token grants, the short-lived
//! OAuth records) now and then.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::{Clock, unix_seconds};
use tokio_util::sync::CancellationToken;

use crate::datastore::{ExpiringStore, TenantScope, TenantStore};

/// Something with expired records to delete (they are refused anyway; pruning keeps the
/// store small).
pub trait Prune: Send + Sync + 'static {
    /// What is pruned, for the logs.
    const WHAT: &'static str;

    /// Deletes what has expired at `now`; returns how many.
    fn prune(&self, now: SystemTime) -> impl Future<Output = Result<u64, String>> + Send;
}

/// The datastore's short-lived records (sessions, codes, device codes, `jti`s) as a
/// [`Prune`] target.
#[derive(Debug, Clone)]
pub struct ExpiredRecords<S>(pub S);

impl<S: ExpiringStore> Prune for ExpiredRecords<S> {
    const WHAT: &'static str = "short-lived OAuth records";

    async fn prune(&self, now: SystemTime) -> Result<u64, String> {
        self.0
            .prune_expiring(unix_seconds(now))
            .await
            .map_err(|e| e.to_string())
    }
}

/// A target made for each tenant in turn (each tenant's records are reachable only
/// through its scoped store).
pub struct EveryTenant<S, F> {
    store: S,
    make: F,
}

impl<S, F> std::fmt::Debug for EveryTenant<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EveryTenant").finish_non_exhaustive()
    }
}

impl<S, F> EveryTenant<S, F> {
    /// Prunes `make(store scoped to each tenant)`.
    pub fn new(store: S, make: F) -> Self {
        Self { store, make }
    }
}

impl<S, F, P> Prune for EveryTenant<S, F>
where
    S: TenantStore + TenantScope + Send + Sync,
    F: Fn(S) -> P + Send + Sync + 'static,
    P: Prune,
{
    const WHAT: &'static str = P::WHAT;

    async fn prune(&self, now: SystemTime) -> Result<u64, String> {
        let tenants = self.store.list_tenants().await.map_err(|e| e.to_string())?;
        let mut pruned = 0u64;
        for tenant in tenants {
            let scoped = self
                .store
                .for_tenant(&tenant.id)
                .map_err(|e| e.to_string())?;
            pruned = pruned.saturating_add((self.make)(scoped).prune(now).await?);
        }
        Ok(pruned)
    }
}

/// Periodically prunes one [`Prune`] target.
#[derive(Debug)]
pub struct Pruner<P> {
    target: P,
    clock: Arc<dyn Clock>,
    every: Duration,
}

impl<P: Prune> Pruner<P> {
    /// Prunes `target` every `every`, at times read from `clock`.
    pub fn new(target: P, clock: Arc<dyn Clock>, every: Duration) -> Self {
        Self {
            target,
            clock,
            every,
        }
    }

    /// Prunes at once, then every period, until `shutdown`. Failures are logged and
    /// retried at the next period: pruning is housekeeping, never fatal.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.target.prune(self.clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, what = P::WHAT, "expired records deleted"),
                Err(e) => tracing::warn!(error = %e, what = P::WHAT, "pruning failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::SystemTime;

    use tessera_proto::clock::TokioClock;

    use super::*;
    use crate::attestation::JoinTokens;
    use crate::datastore::JoinTokenStore as _;
    use crate::datastore::memory::MemoryStore;

    #[tokio::test(start_paused = true)]
    async fn prunes_each_period_until_shutdown() {
        let store = MemoryStore::default();
        let tokens = JoinTokens::new("example.org".parse().unwrap(), store.clone());
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = Arc::new(TokioClock::starting_at(start));
        let (short, _) = tokens
            .generate(Some(Duration::from_secs(60)), None, start)
            .await
            .unwrap();
        let (long, _) = tokens
            .generate(Some(Duration::from_secs(3600)), None, start)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(
            Pruner::new(tokens.clone(), clock, Duration::from_secs(600)).run(shutdown.clone()),
        );
        tokio::time::sleep(Duration::from_secs(601)).await;
        // The 60 s token was pruned at t=600; the hour-long one is still there.
        let hash = |t: &str| {
            hex::encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                t.as_bytes(),
            ))
        };
        assert!(
            store
                .take_join_token(&hash(&short))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.take_join_token(&hash(&long)).await.unwrap().is_some());
        shutdown.cancel();
        task.await.unwrap();
    }
}
