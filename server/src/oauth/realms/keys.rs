//! [`TenantKeys`]: keeps the CA's list of tenants (whose OAuth signing keys it rotates)
//! in step with the datastore's.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::ca::CaManager;
use crate::datastore::{BundleStore, CaJournalStore, DatastoreError, TenantStore};

/// How often the tenants are read: a tenant created through another replica gets this
/// replica's signing key (and this replica's keys of a deleted one go) within it.
pub const TENANT_SYNC: Duration = Duration::from_secs(2);

/// Gives `ca` the datastore's tenants.
pub struct TenantKeys<S> {
    ca: Arc<CaManager<S>>,
    store: S,
    every: Duration,
}

impl<S> std::fmt::Debug for TenantKeys<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantKeys")
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

/// Reads the tenants of `store` and hands them to `ca` (only after a successful read: an
/// empty list would drop every tenant's keys).
pub async fn sync_tenants<S: CaJournalStore + BundleStore + TenantStore>(
    ca: &CaManager<S>,
    store: &S,
) -> Result<(), DatastoreError> {
    let ids: BTreeSet<String> = store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    if let Err(e) = ca.set_tenants(ids).await {
        tracing::warn!(error = %e, "tenant key round failed; the rotator retries");
    }
    Ok(())
}

impl<S: CaJournalStore + BundleStore + TenantStore> TenantKeys<S> {
    /// Syncs `store`'s tenants into `ca` every `every`.
    pub fn new(ca: Arc<CaManager<S>>, store: S, every: Duration) -> Self {
        Self { ca, store, every }
    }

    /// Runs until `shutdown`; a failed read is logged and retried at the next tick.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = sync_tenants(&self.ca, &self.store).await {
                tracing::warn!(error = %e, "reading the tenants failed; retrying");
            }
        }
    }
}
