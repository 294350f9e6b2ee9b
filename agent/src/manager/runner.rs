//! The manager: state, construction, the loop and one sync round.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::Clock;
use tessera_proto::identity::TrustDomain;
use tessera_proto::metrics::Outcome;
use tessera_proto::wire::tessera::types::v1::{Bundle, Entry};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use super::issuer::Issuer;
use super::push::{PushWatcher, Woken, pause};
use super::sync::{MergeOutcome, merge_pages};
use super::{AgentState, CachedEntry, ManagerError};
use crate::attestor::node::NodeAttestor;
use crate::client::{self, AgentApi, ClientError};
use crate::config::ServerAddress;
use crate::metrics::ManagerMetrics;
use crate::store::Store;
use crate::x509::SvidWithKey;

/// The longest wait between attempts while the server is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The wait after `current` when the server stays unreachable: doubled, capped at a minute.
pub fn next_backoff(current: Duration) -> Duration {
    current.saturating_mul(2).min(MAX_BACKOFF)
}

/// What the manager needs from the config.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// The agent's trust domain.
    pub trust_domain: TrustDomain,
    /// Server addresses, tried in order.
    pub server_addresses: Vec<ServerAddress>,
    /// Time between sync rounds.
    pub sync_interval: Duration,
    /// The bundle from `trust_bundle_path`, used when none is persisted.
    pub bootstrap_bundle: Option<Bundle>,
    /// Dev only: attest the first time without verifying the server.
    pub insecure_bootstrap: bool,
    /// Keep a `WatchChanges` stream open and sync as soon as the server signals a change
    /// (the periodic sync stays).
    pub push: bool,
    /// Most CSRs per `BatchNewX509Svid` call (at most [`client::BATCH_LIMIT`]).
    pub x509_svid_batch_size: usize,
}

/// An entry in the cache, with the SVID held for it and the entry revision it was issued at.
#[derive(Debug, Clone)]
pub(super) struct EntrySlot {
    /// Shared with the published snapshots.
    pub(super) entry: Arc<Entry>,
    pub(super) svid: Option<(Arc<SvidWithKey>, u64)>,
}

/// Keeps the agent attested, synced and its entries' SVIDs fresh.
#[derive(Debug)]
pub struct Manager {
    pub(super) config: ManagerConfig,
    pub(super) attestor: Box<dyn NodeAttestor>,
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) state_tx: watch::Sender<Option<Arc<AgentState>>>,
    pub(super) channel_tx: watch::Sender<Option<Channel>>,
    /// The agent's own SVID.
    pub(super) agent_svid: Option<SvidWithKey>,
    /// True once this process held a valid agent SVID (join tokens cannot attest again).
    pub(super) had_identity: bool,
    pub(super) bundle: Option<Bundle>,
    pub(super) federated: Vec<Bundle>,
    pub(super) entries: BTreeMap<String, EntrySlot>,
    pub(super) revision: u64,
    /// The mTLS channel for the current SVID and bundle; `None` to reconnect.
    pub(super) channel: Option<Channel>,
    pub(super) metrics: ManagerMetrics,
}

impl Manager {
    /// A manager resuming from what `store` holds (a persisted, still valid agent SVID is
    /// reused without attesting). Fails on corrupted files or when there is no way to trust
    /// the server for the first attestation.
    pub fn new(
        config: ManagerConfig,
        attestor: Box<dyn NodeAttestor>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ManagerError> {
        let bundle = match store.load_bundle()? {
            Some(b) => Some(b),
            None => config.bootstrap_bundle.clone(),
        };
        if bundle.is_none() && !config.insecure_bootstrap {
            return Err(ManagerError::NoTrustBundle);
        }
        let agent_svid = store.load_agent_svid()?;
        let (state_tx, _) = watch::channel(None);
        let (channel_tx, _) = watch::channel(None);
        Ok(Self {
            config,
            attestor,
            store,
            clock,
            state_tx,
            channel_tx,
            agent_svid,
            had_identity: false,
            bundle,
            federated: Vec::new(),
            entries: BTreeMap::new(),
            revision: 0,
            channel: None,
            metrics: ManagerMetrics::default(),
        })
    }

    /// Records cache size, syncs and rotations in `metrics`.
    pub fn with_metrics(mut self, metrics: ManagerMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Snapshots of the agent's state; `None` until the first successful round.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<AgentState>>> {
        self.state_tx.subscribe()
    }

    /// A handle for RPCs outside the loop (JWT-SVIDs), following the current connection.
    pub fn api(&self) -> AgentApi {
        AgentApi::new(self.channel_tx.subscribe())
    }

    /// The server's SPIFFE ID.
    pub(super) fn server_id(&self) -> String {
        format!("{}/tessera/server", self.config.trust_domain.id_string())
    }

    /// Runs rounds every `sync_interval` (backing off up to a minute while the server is
    /// unreachable), and at once when the server pushes a change signal (with `push`),
    /// until `shutdown`; returns an error only when the agent must stop.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), ManagerError> {
        let wake = Arc::new(Notify::new());
        // Ends the push watcher when this loop returns, however it returns.
        let watcher_token = shutdown.child_token();
        let _stop_watcher = watcher_token.clone().drop_guard();
        if self.config.push {
            let watcher = PushWatcher::new(
                self.channel_tx.subscribe(),
                wake.clone(),
                self.metrics.clone(),
            );
            tokio::spawn(watcher.run(watcher_token));
        }
        let mut backoff = self.config.sync_interval;
        loop {
            let now = self.clock.now();
            let start = tokio::time::Instant::now();
            let wait = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                result = self.round(now) => match self.timed(result, start) {
                    Ok(()) => {
                        backoff = self.config.sync_interval;
                        self.config.sync_interval
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(ManagerError::Evicted(reason)) => {
                        tracing::warn!(%reason, retry_in = ?backoff, "the server refused the agent SVID; attesting again");
                        let wait = backoff;
                        backoff = next_backoff(backoff);
                        wait
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?backoff, "sync failed; keeping current SVIDs until they expire");
                        let wait = backoff;
                        backoff = next_backoff(backoff);
                        wait
                    }
                },
            };
            match pause(wait, &wake, &shutdown).await {
                Woken::Shutdown => return Ok(()),
                Woken::Push => tracing::debug!("change pushed by the server: syncing now"),
                Woken::Timer => {}
            }
        }
    }

    /// Records a round's result and duration; returns the result.
    fn timed(
        &self,
        result: Result<(), ManagerError>,
        start: tokio::time::Instant,
    ) -> Result<(), ManagerError> {
        self.metrics.round(Outcome::of(&result), start.elapsed());
        result
    }

    /// One round: identity, bundles, entries, SVIDs, then publish.
    pub(super) async fn round(&mut self, now: SystemTime) -> Result<(), ManagerError> {
        self.ensure_identity(now).await?;
        let channel = self.mtls_channel().await?;
        let result = self.sync(channel.clone(), now).await;
        match result {
            Err(ManagerError::Server(ClientError::PermissionDenied(reason))) => {
                self.evicted(reason)
            }
            Err(e @ ManagerError::Server(ClientError::Unavailable(_))) => {
                // Reconnect through the address list next round (another server may answer).
                self.channel = None;
                Err(e)
            }
            other => other,
        }
    }

    async fn sync(&mut self, channel: Channel, now: SystemTime) -> Result<(), ManagerError> {
        self.refresh_bundles(channel.clone()).await?;
        let mut issuer = self.issuer(channel.clone(), now)?;
        self.sync_entries(channel, &mut issuer, now).await?;
        self.refresh_svids(issuer, now).await?;
        self.publish();
        Ok(())
    }

    async fn refresh_bundles(&mut self, channel: Channel) -> Result<(), ManagerError> {
        let reply = client::get_bundles(channel).await?;
        let bundle = reply
            .bundle
            .ok_or_else(|| ManagerError::InvalidResponse("GetBundles returned no bundle".into()))?;
        self.check_bundle(&bundle)?;
        if self.bundle.as_ref() != Some(&bundle) {
            self.store.save_bundle(&bundle)?;
            tracing::info!(
                sequence = bundle.sequence,
                authorities = bundle.x509_authorities.len(),
                "bundle updated"
            );
            self.bundle = Some(bundle);
            // New roots: the next round reconnects with them.
            self.channel = None;
        }
        self.federated = reply.federated_bundles;
        Ok(())
    }

    /// A bundle must be ours and hold at least one X.509 authority.
    pub(super) fn check_bundle(&self, bundle: &Bundle) -> Result<(), ManagerError> {
        if !bundle.trust_domain.is_empty()
            && bundle.trust_domain != self.config.trust_domain.as_str()
        {
            return Err(ManagerError::InvalidResponse(format!(
                "bundle is for {}, not {}",
                bundle.trust_domain, self.config.trust_domain
            )));
        }
        if bundle.x509_authorities.is_empty() {
            return Err(ManagerError::InvalidResponse(
                "bundle has no X.509 authority".into(),
            ));
        }
        Ok(())
    }

    /// Syncs the entry cache; SVIDs for the entries the pages send in full are requested
    /// through `issuer` as the pages arrive.
    async fn sync_entries(
        &mut self,
        channel: Channel,
        issuer: &mut Issuer,
        now: SystemTime,
    ) -> Result<(), ManagerError> {
        let cached: BTreeMap<String, Arc<Entry>> = self
            .entries
            .iter()
            .map(|(id, slot)| (id.clone(), slot.entry.clone()))
            .collect();
        let pages = client::sync_entries_with(channel.clone(), self.revision, |page| {
            self.want_early(issuer, page, now);
        })
        .await?;
        let result = match merge_pages(&cached, pages) {
            MergeOutcome::Merged(r) => r,
            MergeOutcome::NeedsFullSync => {
                tracing::debug!("entry cache incomplete; full sync");
                let pages = client::sync_entries_with(channel, 0, |page| {
                    self.want_early(issuer, page, now);
                })
                .await?;
                match merge_pages(&BTreeMap::new(), pages) {
                    MergeOutcome::Merged(r) => r,
                    MergeOutcome::NeedsFullSync => {
                        return Err(ManagerError::InvalidResponse(
                            "a full sync left authorized entries unsent".into(),
                        ));
                    }
                }
            }
        };
        let changed =
            result.revision != self.revision || result.entries.len() != self.entries.len();
        let mut slots = BTreeMap::new();
        for (id, entry) in result.entries {
            let svid = self.entries.remove(&id).and_then(|s| s.svid);
            slots.insert(id, EntrySlot { entry, svid });
        }
        self.entries = slots;
        self.revision = result.revision;
        self.metrics.synced(self.entries.len());
        if changed {
            tracing::info!(
                "synced {} entries (revision {})",
                self.entries.len(),
                self.revision
            );
        } else {
            tracing::debug!(
                "synced {} entries (revision {})",
                self.entries.len(),
                self.revision
            );
        }
        Ok(())
    }

    /// Publishes the current cache as a new snapshot.
    fn publish(&self) {
        let svids = self.entries.values().filter(|s| s.svid.is_some()).count();
        self.metrics.cache(self.entries.len(), svids);
        let (Some(svid), Some(bundle)) = (&self.agent_svid, &self.bundle) else {
            return;
        };
        let state = AgentState {
            agent_id: svid.spiffe_id.clone(),
            bundle: bundle.clone(),
            federated_bundles: self.federated.clone(),
            entries: self
                .entries
                .values()
                .map(|slot| CachedEntry {
                    entry: slot.entry.clone(),
                    svid: slot.svid.as_ref().map(|(s, _)| s.clone()),
                })
                .collect(),
        };
        self.state_tx.send_if_modified(|current| {
            if current.as_deref() == Some(&state) {
                false
            } else {
                *current = Some(Arc::new(state));
                true
            }
        });
    }
}
