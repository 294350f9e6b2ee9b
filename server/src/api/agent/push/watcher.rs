//! One `WatchChanges` stream: a task that turns announced changes into signals for one agent.

use std::sync::Arc;

use tessera_proto::clock::Clock;
use tessera_proto::identity::{Selector, SpiffeId};
use tessera_proto::wire::tessera::agent::v1::WatchChangesResponse;
use tessera_proto::wire::tessera::types::v1::Bundle;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::Interest;
use crate::api::datastore_status;
use crate::ca::CaSnapshot;
use crate::changes::{Change, ChangeReceiver};
use crate::datastore::{AgentStore, EntryStore};

/// Signals waiting to be sent per stream: one (see the module docs on coalescing).
pub const SIGNAL_BUFFER: usize = 1;

/// The task behind one agent's `WatchChanges` stream.
#[derive(Debug)]
pub struct Watcher<S> {
    /// The datastore (the agent's record and authorized entries).
    pub store: S,
    /// The agent.
    pub agent_id: SpiffeId,
    /// This server's ID (parent of node aliases).
    pub server_id: SpiffeId,
    /// Reads `now` for expiry of entries.
    pub clock: Arc<dyn Clock>,
    /// Subscribed before the interest is first read, so no change falls in between.
    pub changes: ChangeReceiver,
    /// The CA's published state (its bundle).
    pub ca: watch::Receiver<Arc<CaSnapshot>>,
    /// The stream to the agent.
    pub signals: mpsc::Sender<Result<WatchChangesResponse, Status>>,
    /// Server shutdown.
    pub shutdown: CancellationToken,
}

impl<S: AgentStore + EntryStore> Watcher<S> {
    /// Runs until the agent hangs up, the server stops, or the agent is no longer allowed
    /// (evicted, banned: the stream ends with `PermissionDenied`).
    pub async fn run(mut self) {
        let mut bundle: Bundle = self.ca.borrow_and_update().bundle().clone();
        // Everything may have changed while the agent was not listening.
        let mut revision = self.store.entries_revision().await.unwrap_or_default();
        self.signal(revision, true, true);
        let mut interest = match self.interest().await {
            Ok(i) => i,
            Err(status) => return self.end(status).await,
        };
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = self.signals.closed() => return,
                change = self.changes.next() => {
                    let Some(change) = change else { return };
                    if !interest.wants(&change) {
                        continue;
                    }
                    let (entries, bundles) = match &change {
                        Change::Entry { revision: r, .. } => {
                            revision = revision.max(*r);
                            (true, false)
                        }
                        Change::Bundle { .. } => (false, true),
                        Change::Everything => (true, true),
                    };
                    self.signal(revision, entries, bundles);
                    if entries {
                        interest = match self.interest().await {
                            Ok(i) => i,
                            Err(status) => return self.end(status).await,
                        };
                    }
                }
                changed = self.ca.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let current = self.ca.borrow_and_update().bundle().clone();
                    if current != bundle {
                        bundle = current;
                        self.signal(revision, false, true);
                    }
                }
            }
        }
    }

    /// Queues a signal unless one is already waiting (which covers this change too).
    fn signal(&self, entries_revision: u64, entries: bool, bundles: bool) {
        let _ = self.signals.try_send(Ok(WatchChangesResponse {
            entries_revision,
            entries,
            bundles,
        }));
    }

    async fn end(self, status: Status) {
        let _ = self.signals.send(Err(status)).await;
    }

    /// The agent's current interest; `PermissionDenied` when it is gone or banned.
    async fn interest(&self) -> Result<Interest, Status> {
        let agent = self
            .store
            .get_agent(self.agent_id.as_str())
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| {
                Status::permission_denied(format!("{} is not an attested agent", self.agent_id))
            })?;
        if agent.banned {
            return Err(Status::permission_denied(format!(
                "agent {} is banned",
                self.agent_id
            )));
        }
        let selectors: Vec<Selector> = agent
            .selectors
            .iter()
            .filter_map(|s| Selector::new(&s.r#type, &s.value).ok())
            .collect();
        Interest::read(
            &self.store,
            &self.agent_id,
            &selectors,
            &self.server_id,
            self.clock.now(),
        )
        .await
        .map_err(datastore_status)
    }
}
