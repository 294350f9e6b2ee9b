//! The rotation task: wakes at the next rotation instant (or every `max_interval`) and
//! applies what is due.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::Clock;
use tokio_util::sync::CancellationToken;

use super::CaError;
use super::manager::CaManager;
use crate::changes::{Change, ChangeReceiver};
use crate::datastore::{BundleStore, CaJournalStore};

/// Drives [`CaManager::rotate`] on schedule.
#[derive(Debug)]
pub struct Rotator<S> {
    manager: Arc<CaManager<S>>,
    clock: Arc<dyn Clock>,
    max_interval: Duration,
    /// Bundle writes (another replica's too): adopted at once rather than at the next check.
    wake: Option<ChangeReceiver>,
}

impl<S: CaJournalStore + BundleStore> Rotator<S> {
    /// A rotator checking at least every `max_interval` (SPIRE checks every 10 s).
    pub fn new(manager: Arc<CaManager<S>>, clock: Arc<dyn Clock>, max_interval: Duration) -> Self {
        Self {
            manager,
            clock,
            max_interval,
            wake: None,
        }
    }

    /// Also runs a round as soon as a bundle change is announced on `changes` (a replica
    /// adopts what another published without waiting for its next check; the round reads
    /// the stored bundle and writes only when its own contribution is missing).
    pub fn with_wake(mut self, changes: ChangeReceiver) -> Self {
        self.wake = Some(changes);
        self
    }

    /// Runs until `shutdown`. A failed round is logged and retried on the next tick: the
    /// published state stays the last good one.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), CaError> {
        loop {
            let wait = match self.manager.rotate().await {
                Ok(Some(next)) => next
                    .duration_since(self.clock.now())
                    .unwrap_or_default()
                    .min(self.max_interval),
                Ok(None) => self.max_interval,
                Err(e) => {
                    tracing::error!(error = %e, "CA rotation failed; retrying");
                    self.max_interval
                }
            };
            let woken = async {
                match self.wake.as_mut() {
                    Some(changes) => loop {
                        match changes.next().await {
                            Some(Change::Bundle { .. } | Change::Everything) => break,
                            Some(Change::Entry { .. }) => {}
                            None => std::future::pending::<()>().await,
                        }
                    },
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                () = woken => {}
            }
        }
    }
}
