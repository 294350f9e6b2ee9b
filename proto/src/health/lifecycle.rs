//! The process phase (starting, serving, stopping) and the one readiness function.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use super::report::{NOT_READY_SHUTTING_DOWN, NOT_READY_STARTING, Report};

/// A boxed readiness check.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Report> + Send + 'a>>;

/// What a running process checks to call itself ready (datastore, CA, SVIDs…).
pub trait Probe: Send + Sync + 'static {
    /// What is not ready right now.
    fn check(&self) -> ProbeFuture<'_>;
}

/// Where the process is in its life.
#[derive(Clone)]
pub enum Phase {
    /// Opening stores, binding listeners: not ready.
    Starting,
    /// Every part runs; readiness is what the probe says.
    Serving(Arc<dyn Probe>),
    /// A shutdown signal arrived; listeners are draining: not ready.
    Stopping,
}

impl std::fmt::Debug for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Starting => "Starting",
            Self::Serving(_) => "Serving",
            Self::Stopping => "Stopping",
        })
    }
}

/// The writer side: `main` moves the phase forward.
#[derive(Debug)]
pub struct Lifecycle {
    tx: watch::Sender<Phase>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// A process that is starting.
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(Phase::Starting),
        }
    }

    /// Every part runs: readiness is `probe`'s from now on.
    pub fn serving(&self, probe: Arc<dyn Probe>) {
        self.tx.send_replace(Phase::Serving(probe));
    }

    /// Shutdown began: not ready from now on (call before draining listeners).
    pub fn stopping(&self) {
        self.tx.send_replace(Phase::Stopping);
    }

    /// A reader for the endpoint and the CLI's health RPC.
    pub fn readiness(&self) -> Readiness {
        Readiness {
            rx: self.tx.subscribe(),
        }
    }
}

/// The one readiness function of a process.
#[derive(Debug, Clone)]
pub struct Readiness {
    rx: watch::Receiver<Phase>,
}

impl Readiness {
    /// What is not ready now: `starting`, `shutting_down`, or the probe's answer.
    pub async fn check(&self) -> Report {
        let phase = self.rx.borrow().clone();
        match phase {
            Phase::Starting => Report::not_ready([NOT_READY_STARTING]),
            Phase::Stopping => Report::not_ready([NOT_READY_SHUTTING_DOWN]),
            Phase::Serving(probe) => probe.check().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Report);

    impl Probe for Fixed {
        fn check(&self) -> ProbeFuture<'_> {
            let report = self.0.clone();
            Box::pin(async move { report })
        }
    }

    #[tokio::test]
    async fn not_ready_while_starting_and_stopping() {
        let lifecycle = Lifecycle::new();
        let readiness = lifecycle.readiness();
        assert_eq!(readiness.check().await.reasons(), ["starting"]);
        lifecycle.serving(Arc::new(Fixed(Report::ready())));
        assert!(readiness.check().await.is_ready());
        lifecycle.serving(Arc::new(Fixed(Report::not_ready(["datastore"]))));
        assert_eq!(readiness.check().await.reasons(), ["datastore"]);
        lifecycle.stopping();
        assert_eq!(readiness.check().await.reasons(), ["shutting_down"]);
    }
}
