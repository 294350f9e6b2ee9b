//! The fetcher: every relationship's bundle, fetched from its endpoint when due, verified
//! per profile ([`accept`](super::accept)), written to the bundle store only when it
//! changed, and the outcome recorded as the relationship's status.
//!
//! Several replicas: every replica runs a fetcher over the shared relationships. The bundle
//! write is a compare-and-swap on the held sequence and happens only when the authorities
//! differ, so replicas that fetch the same document write it once (a lost race is dropped:
//! the next round compares again). The status is last-writer-wins.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::admin::v1::{FederationRelationship, FederationStatus};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::accept::{PresentedSvid, accept, differs, next_sequence};
use super::client::{spiffe_config, web_config};
use super::error::FetchError;
use super::relationship::{Profile, Relationship};
use super::schedule::Bounds;
use super::transport::get;
use crate::datastore::{BundleStore, BundleWrite, DatastoreError, FederationStore};

/// How often the relationships are re-read from the datastore (new, changed or deleted ones
/// are seen within this).
pub const TICK: Duration = Duration::from_secs(1);

/// Where a relationship stands in this process.
#[derive(Debug)]
struct Slot {
    /// The relationship as last read; a change makes it due at once.
    wire: FederationRelationship,
    due: Instant,
    failures: u32,
}

/// Fetches federated bundles until shutdown.
#[derive(Debug)]
pub struct Fetcher<S> {
    store: S,
    clock: Arc<dyn Clock>,
    own: TrustDomain,
    web_roots: Arc<RootCertStore>,
    bounds: Bounds,
    slots: HashMap<String, Slot>,
}

impl<S: FederationStore + BundleStore> Fetcher<S> {
    /// A fetcher for a server of trust domain `own`; `https_web` endpoints are verified with
    /// `web_roots`.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        own: TrustDomain,
        web_roots: Arc<RootCertStore>,
        bounds: Bounds,
    ) -> Self {
        Self {
            store,
            clock,
            own,
            web_roots,
            bounds,
            slots: HashMap::new(),
        }
    }

    /// Runs rounds every [`TICK`] until `shutdown`. Failures are recorded per relationship,
    /// never fatal.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.round() => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Fetches every relationship that is due.
    pub async fn round(&mut self) {
        let relationships = match self.store.list_federations().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "federation: cannot list relationships");
                return;
            }
        };
        self.slots
            .retain(|td, _| relationships.iter().any(|(r, _)| &r.trust_domain == td));
        let now = Instant::now();
        for (wire, status) in relationships {
            if wire.trust_domain == self.own.as_str() {
                continue;
            }
            let due = match self.slots.get(&wire.trust_domain) {
                Some(slot) if slot.wire == wire => slot.due <= now,
                _ => true,
            };
            if due {
                self.fetch_and_record(wire, status).await;
            }
        }
    }

    async fn fetch_and_record(
        &mut self,
        wire: FederationRelationship,
        previous: Option<FederationStatus>,
    ) {
        let td = wire.trust_domain.clone();
        let failures = self.slots.get(&td).map_or(0, |s| s.failures);
        let last_sequence = previous
            .as_ref()
            .filter(|s| s.has_sequence)
            .map(|s| s.last_sequence);
        let outcome = self.fetch(&wire, last_sequence).await;
        let at = self.clock.now();
        let mut status = previous.unwrap_or_default();
        status.last_attempt_at = unix_seconds(at);
        let (wait, failures) = match &outcome {
            Ok((sequence, hint)) => {
                status.last_refresh_at = unix_seconds(at);
                status.last_error.clear();
                if let Some(sequence) = sequence {
                    status.last_sequence = *sequence;
                    status.has_sequence = true;
                }
                (self.bounds.after_success(*hint), 0)
            }
            Err(e) => {
                let failures = failures.saturating_add(1);
                status.last_error = e.to_string();
                tracing::warn!(trust_domain = %td, error = %e, failures, "federation: fetching the bundle failed; keeping the last good bundle");
                (self.bounds.after_failure(failures), failures)
            }
        };
        status.next_refresh_at = unix_seconds(at + wait);
        if let Err(e) = self.store.put_federation_status(&td, &status).await {
            tracing::warn!(trust_domain = %td, error = %e, "federation: cannot record the fetch status");
        }
        self.slots.insert(
            td,
            Slot {
                wire,
                due: Instant::now() + wait,
                failures,
            },
        );
    }

    /// One fetch: the accepted document's `spiffe_sequence` and refresh hint.
    async fn fetch(
        &self,
        wire: &FederationRelationship,
        last_sequence: Option<u64>,
    ) -> Result<(Option<u64>, Option<Duration>), FetchError> {
        let relationship = Relationship::from_wire(wire)?;
        let td = &relationship.trust_domain;
        let held = self.store.get_bundle(td.as_str()).await?;
        let (config, refusal) = match &relationship.profile {
            Profile::HttpsWeb => (web_config(self.web_roots.clone())?, None),
            Profile::HttpsSpiffe { endpoint_id } => {
                let held = held
                    .as_ref()
                    .filter(|b| !b.x509_authorities.is_empty())
                    .ok_or_else(|| FetchError::NoHeldBundle(td.to_string()))?;
                let (config, refusal) = spiffe_config(held, endpoint_id.clone())?;
                (config, Some(refusal))
            }
        };
        let fetched = match get(&relationship.endpoint, config).await {
            Ok(fetched) => fetched,
            Err(FetchError::Tls(message)) => {
                let why = refusal.and_then(|r| r.lock().unwrap_or_else(|p| p.into_inner()).take());
                return Err(why.map_or(FetchError::Tls(message), FetchError::Endpoint));
            }
            Err(e) => return Err(e),
        };
        let now = tessera_proto::x509_chain::unix_time(self.clock.now());
        let presented = match &relationship.profile {
            Profile::HttpsWeb => None,
            Profile::HttpsSpiffe { endpoint_id } => Some(PresentedSvid {
                chain: &fetched.chain,
                expected: endpoint_id,
                now,
            }),
        };
        let doc = accept(td, &fetched.body, last_sequence, presented.as_ref())?;
        if differs(&doc, held.as_ref()) {
            let stored = held.as_ref().map(|b| b.sequence);
            let sequence = next_sequence(doc.sequence, stored);
            let bundle = doc.to_wire(sequence);
            match self
                .store
                .put_bundle(BundleWrite {
                    bundle: &bundle,
                    expected_sequence: stored,
                })
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        target: "tessera::audit",
                        event = "federated_bundle_refreshed",
                        actor = "federation",
                        trust_domain = %td,
                        endpoint = %relationship.endpoint.url,
                        sequence,
                        x509_authorities = bundle.x509_authorities.len(),
                        jwt_authorities = bundle.jwt_authorities.len(),
                    );
                }
                // Another replica (or an operator) wrote first: compared again next time.
                Err(DatastoreError::Conflict(m)) => {
                    tracing::debug!(trust_domain = %td, conflict = %m, "federation: bundle changed concurrently");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((doc.sequence, doc.refresh_hint_duration()))
    }
}

#[cfg(test)]
#[path = "fetcher_tests.rs"]
mod tests;
