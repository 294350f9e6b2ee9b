//! Leader election over a `coordination.k8s.io/v1` Lease, hand-rolled: every write is a
//! compare-and-swap on the Lease's `resourceVersion`, so of two replicas racing for it
//! exactly one wins (the other gets 409 Conflict).
//!
//! A candidate takes the Lease when it is absent, released (no holder) or expired
//! (`renewTime + leaseDurationSeconds` passed). The leader renews every `renew_interval`
//! and steps down (stops writing) when it could not renew for `lease_duration -
//! renew_interval`, so it has stopped before anyone else may take over. On shutdown the
//! leader releases the Lease (empty holder) so a successor need not wait for expiry.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::Clock;
use tokio_util::sync::CancellationToken;

/// What a Lease says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `spec.holderIdentity` (empty: released).
    pub holder: String,
    /// `spec.leaseDurationSeconds`.
    pub duration: Duration,
    /// `spec.acquireTime`.
    pub acquired: Option<SystemTime>,
    /// `spec.renewTime`.
    pub renewed: Option<SystemTime>,
    /// `spec.leaseTransitions`.
    pub transitions: i32,
}

/// A Lease and the `resourceVersion` it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The Lease.
    pub record: LeaseRecord,
    /// Its `metadata.resourceVersion`.
    pub resource_version: String,
}

/// Why a Lease call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Someone else wrote first (409: resourceVersion mismatch or already exists).
    #[error("conflict: the Lease changed since it was read")]
    Conflict,
    /// Any other API failure.
    #[error("Lease API: {0}")]
    Api(String),
}

/// The Lease calls the elector needs.
pub trait LeaseApi: Send + Sync + 'static {
    /// Reads the Lease.
    fn get(&self) -> impl Future<Output = Result<Option<Versioned>, LeaseError>> + Send;
    /// Creates it ([`LeaseError::Conflict`] if it exists); returns its resourceVersion.
    fn create(
        &self,
        record: &LeaseRecord,
    ) -> impl Future<Output = Result<String, LeaseError>> + Send;
    /// Replaces it if still at `resource_version`; returns the new resourceVersion.
    fn replace(
        &self,
        record: &LeaseRecord,
        resource_version: &str,
    ) -> impl Future<Output = Result<String, LeaseError>> + Send;
}

/// Whether `me` may write the Lease at `now`: it is absent, released, ours, or expired.
pub fn may_take(current: Option<&LeaseRecord>, me: &str, now: SystemTime) -> bool {
    let Some(lease) = current else {
        return true;
    };
    if lease.holder.is_empty() || lease.holder == me {
        return true;
    }
    match lease.renewed.or(lease.acquired) {
        None => true,
        Some(renewed) => renewed + lease.duration <= now,
    }
}

/// Leader election settings.
#[derive(Debug, Clone)]
pub struct ElectionConfig {
    /// This replica's identity (`holderIdentity`).
    pub identity: String,
    /// `leaseDurationSeconds`.
    pub lease_duration: Duration,
    /// How often the leader renews and candidates retry.
    pub renew_interval: Duration,
}

/// Runs a task only while holding the Lease.
#[derive(Debug)]
pub struct Elector<L> {
    api: L,
    config: ElectionConfig,
    clock: Arc<dyn Clock>,
}

impl<L: LeaseApi> Elector<L> {
    /// An elector over `api`.
    pub fn new(api: L, config: ElectionConfig, clock: Arc<dyn Clock>) -> Self {
        Self { api, config, clock }
    }

    /// One attempt to take or renew the Lease; `Ok(true)` when we hold it now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, LeaseError> {
        let now = self.clock.now();
        let me = &self.config.identity;
        let current = self.api.get().await?;
        if !may_take(current.as_ref().map(|v| &v.record), me, now) {
            return Ok(false);
        }
        let written = match current {
            None => {
                let record = LeaseRecord {
                    holder: me.clone(),
                    duration: self.config.lease_duration,
                    acquired: Some(now),
                    renewed: Some(now),
                    transitions: 0,
                };
                self.api.create(&record).await
            }
            Some(v) => {
                let record = if v.record.holder == *me {
                    LeaseRecord {
                        renewed: Some(now),
                        duration: self.config.lease_duration,
                        ..v.record
                    }
                } else {
                    LeaseRecord {
                        holder: me.clone(),
                        duration: self.config.lease_duration,
                        acquired: Some(now),
                        renewed: Some(now),
                        transitions: v.record.transitions.saturating_add(1),
                    }
                };
                self.api.replace(&record, &v.resource_version).await
            }
        };
        match written {
            Ok(_) => Ok(true),
            Err(LeaseError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up if we hold it (empty holder), so a successor takes it at once.
    pub async fn release(&self) -> Result<(), LeaseError> {
        let Some(v) = self.api.get().await? else {
            return Ok(());
        };
        if v.record.holder != self.config.identity {
            return Ok(());
        }
        let record = LeaseRecord {
            holder: String::new(),
            renewed: Some(self.clock.now()),
            duration: Duration::from_secs(1),
            ..v.record
        };
        match self.api.replace(&record, &v.resource_version).await {
            Ok(_) | Err(LeaseError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Until `shutdown`: wins the Lease, runs `lead(token)` while holding it (the token is
    /// cancelled on losing it), and competes again after losing it. Releases it on shutdown.
    pub async fn run<F, Fut>(self, shutdown: CancellationToken, mut lead: F)
    where
        F: FnMut(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let renew = self.config.renew_interval;
        let deadline = self.config.lease_duration.saturating_sub(renew);
        loop {
            // Candidate.
            loop {
                match self.try_acquire_or_renew().await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "k8s registration: Lease unavailable"),
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(renew) => {}
                }
            }
            tracing::info!(identity = %self.config.identity, "k8s registration: leading");
            let leading = shutdown.child_token();
            let mut task = tokio::spawn(lead(leading.clone()));
            let mut renewed_at = tokio::time::Instant::now();
            let mut task_done = false;
            let stop = loop {
                tokio::select! {
                    () = shutdown.cancelled() => break true,
                    _ = &mut task => {
                        task_done = true;
                        break false;
                    }
                    () = tokio::time::sleep(renew) => {}
                }
                match self.try_acquire_or_renew().await {
                    Ok(true) => renewed_at = tokio::time::Instant::now(),
                    Ok(false) => {
                        tracing::warn!("k8s registration: Lease taken by another replica");
                        break false;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "k8s registration: Lease renewal failed");
                        if renewed_at.elapsed() >= deadline {
                            break false;
                        }
                    }
                }
            };
            leading.cancel();
            if !task_done {
                let _ = task.await;
            }
            tracing::info!("k8s registration: stopped leading");
            if stop {
                if let Err(e) = self.release().await {
                    tracing::warn!(error = %e, "k8s registration: Lease release failed");
                }
                return;
            }
            // Lost (or the task ended): give up the Lease so a healthy replica can take
            // it, then compete again after a pause.
            let _ = self.release().await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(renew) => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
