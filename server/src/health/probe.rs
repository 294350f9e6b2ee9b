//! The running server's probe: one cheap datastore read (the trust bundle, under a
//! timeout), the CA's current snapshot, [`assess`].

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::Clock;
use tessera_proto::health::{Probe, ProbeFuture};
use tokio::sync::watch;

use super::assess::{StoredBundle, assess};
use crate::ca::CaSnapshot;
use crate::datastore::BundleStore;

/// How long the datastore read may take before the datastore counts as unreachable (below
/// kubelet's default 1 s probe timeout).
pub const DATASTORE_TIMEOUT: Duration = Duration::from_millis(800);

/// Readiness of a running server.
#[derive(Debug)]
pub struct ServerProbe<S> {
    store: S,
    ca: watch::Receiver<Arc<CaSnapshot>>,
    clock: Arc<dyn Clock>,
}

impl<S: BundleStore> ServerProbe<S> {
    /// A probe over the bundle store and the CA's published snapshots.
    pub fn new(store: S, ca: watch::Receiver<Arc<CaSnapshot>>, clock: Arc<dyn Clock>) -> Self {
        Self { store, ca, clock }
    }

    async fn report(&self) -> tessera_proto::health::Report {
        let snapshot = self.ca.borrow().clone();
        let trust_domain = snapshot.trust_domain().to_string();
        let stored =
            match tokio::time::timeout(DATASTORE_TIMEOUT, self.store.get_bundle(&trust_domain))
                .await
            {
                Ok(Ok(bundle)) => StoredBundle::Read(bundle),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "readiness: datastore read failed");
                    StoredBundle::Unreachable
                }
                Err(_) => {
                    tracing::debug!("readiness: datastore read timed out");
                    StoredBundle::Unreachable
                }
            };
        assess(self.clock.now(), snapshot.authorities(), &stored)
    }
}

impl<S: BundleStore> Probe for ServerProbe<S> {
    fn check(&self) -> ProbeFuture<'_> {
        Box::pin(self.report())
    }
}
