//! Push: a task beside the sync loop keeps a `WatchChanges` stream open on the manager's
//! current connection and turns each signal into a wake-up of the loop, which then runs its
//! usual round at once (the periodic round stays, as the safety net).
//!
//! - Coalescing: a wake-up is one stored permit ([`Notify`]): any number of signals while a
//!   round runs cause exactly one more round, which starts after they arrived and so sees
//!   every change they announced.
//! - The stream follows the connection: when the manager reconnects (a renewed SVID, new
//!   roots, another server), the stream is reopened on the new one at once.
//! - A lost stream is reopened after a jittered, doubling delay (100 ms to 30 s), so a
//!   restarted server is not met by every agent in the same instant; the first signal on a
//!   new stream makes the agent sync (what changed while it was not listening).
//! - A server that does not push (`Unimplemented`) is left alone until the connection
//!   changes: the agent polls every `sync_interval`, as before push.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::backoff::{Backoff, jitter_random};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::client::{self, ClientError};
use crate::metrics::ManagerMetrics;

const RETRY_FLOOR: Duration = Duration::from_millis(100);
const RETRY_CEILING: Duration = Duration::from_secs(30);

/// How the wait between two rounds ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The wait elapsed: a periodic round.
    Timer,
    /// A push signal arrived (or was waiting): a round now.
    Push,
    /// Stop.
    Shutdown,
}

/// Waits `wait`, unless a push signal is (or becomes) pending or `shutdown` comes first.
pub async fn pause(wait: Duration, wake: &Notify, shutdown: &CancellationToken) -> Woken {
    tokio::select! {
        biased;
        () = shutdown.cancelled() => Woken::Shutdown,
        () = wake.notified() => Woken::Push,
        () = tokio::time::sleep(wait) => Woken::Timer,
    }
}

/// How one stream ended.
#[derive(Debug)]
enum Ended {
    Shutdown,
    /// The manager has a new connection: reopen on it now.
    Reconnected,
    /// The server does not push.
    Unsupported,
    /// The stream failed or the server ended it.
    Lost(ClientError),
}

/// The task keeping the stream open; see the module docs.
#[derive(Debug)]
pub struct PushWatcher {
    channel: watch::Receiver<Option<Channel>>,
    wake: Arc<Notify>,
    metrics: ManagerMetrics,
}

impl PushWatcher {
    /// A watcher following the manager's `channel`, waking the loop through `wake`.
    pub fn new(
        channel: watch::Receiver<Option<Channel>>,
        wake: Arc<Notify>,
        metrics: ManagerMetrics,
    ) -> Self {
        Self {
            channel,
            wake,
            metrics,
        }
    }

    /// Runs until `shutdown` (or the manager is gone).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(RETRY_FLOOR, RETRY_CEILING);
        let mut told_unsupported = false;
        loop {
            let Some(channel) = self.current(&shutdown).await else {
                return;
            };
            let ended = self.listen(channel, &shutdown, &mut backoff).await;
            self.metrics.push_connected(false);
            match ended {
                Ended::Shutdown => return,
                Ended::Reconnected => continue,
                Ended::Unsupported => {
                    if !told_unsupported {
                        tracing::info!(
                            "the server does not push changes; syncing every sync_interval"
                        );
                        told_unsupported = true;
                    }
                    // Until the connection changes (perhaps to a server that pushes).
                    if !self.changed(&shutdown).await {
                        return;
                    }
                }
                Ended::Lost(e) => {
                    let wait = backoff.next_wait(jitter_random());
                    tracing::debug!(error = %e, retry_in = ?wait, "push stream lost; reopening");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                        changed = self.channel.changed() => if changed.is_err() { return },
                    }
                }
            }
        }
    }

    /// The manager's current connection, waiting for one; `None` on shutdown.
    async fn current(&mut self, shutdown: &CancellationToken) -> Option<Channel> {
        loop {
            if let Some(channel) = self.channel.borrow_and_update().clone() {
                return Some(channel);
            }
            if !self.changed(shutdown).await {
                return None;
            }
        }
    }

    /// Waits for the connection to change; `false` on shutdown or when the manager is gone.
    async fn changed(&mut self, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = shutdown.cancelled() => false,
            changed = self.channel.changed() => changed.is_ok(),
        }
    }

    async fn listen(
        &mut self,
        channel: Channel,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Ended {
        let opened = tokio::select! {
            () = shutdown.cancelled() => return Ended::Shutdown,
            changed = self.channel.changed() => return reconnected(changed),
            opened = client::watch_changes(channel) => opened,
        };
        let mut stream = match opened {
            Ok(Some(stream)) => stream,
            Ok(None) => return Ended::Unsupported,
            Err(e) => return Ended::Lost(e),
        };
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => return Ended::Shutdown,
                changed = self.channel.changed() => return reconnected(changed),
                message = stream.message() => message,
            };
            match message {
                Ok(Some(signal)) => {
                    backoff.reset();
                    self.metrics.push_connected(true);
                    self.metrics.push_signal();
                    tracing::debug!(
                        entries_revision = signal.entries_revision,
                        entries = signal.entries,
                        bundles = signal.bundles,
                        "push signal"
                    );
                    self.wake.notify_one();
                }
                Ok(None) => {
                    return Ended::Lost(ClientError::Unavailable(
                        "the server ended the push stream".into(),
                    ));
                }
                Err(status) => return Ended::Lost(status.into()),
            }
        }
    }
}

/// A new connection, or the end when the manager (the sender) is gone.
fn reconnected(changed: Result<(), watch::error::RecvError>) -> Ended {
    match changed {
        Ok(()) => Ended::Reconnected,
        Err(_) => Ended::Shutdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_signals_wakes_the_loop_once() {
        let wake = Notify::new();
        let shutdown = CancellationToken::new();
        for _ in 0..5 {
            wake.notify_one();
        }
        let start = tokio::time::Instant::now();
        assert_eq!(
            pause(Duration::from_secs(5), &wake, &shutdown).await,
            Woken::Push
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "at once");
        // The burst left no second wake-up: the next wait runs its course.
        assert_eq!(
            pause(Duration::from_secs(5), &wake, &shutdown).await,
            Woken::Timer
        );
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_during_the_wait_cuts_it_short_and_shutdown_wins() {
        let wake = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let later = wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            later.notify_one();
        });
        let start = tokio::time::Instant::now();
        assert_eq!(
            pause(Duration::from_secs(3600), &wake, &shutdown).await,
            Woken::Push
        );
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        wake.notify_one();
        shutdown.cancel();
        assert_eq!(
            pause(Duration::from_secs(1), &wake, &shutdown).await,
            Woken::Shutdown
        );
    }
}
