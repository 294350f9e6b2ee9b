//! SPIFFE federation (SPIFFE Trust Domain and Bundle §5): this server's bundle endpoint, and
//! the fetcher that keeps the bundles of federated trust domains current from theirs.
//!
//! - [`relationship`]: a relationship (trust domain, endpoint URL, profile), checked.
//! - [`accept`]: the rules a fetched document must pass; [`endpoint_svid`]: `https_spiffe`
//!   endpoint authentication.
//! - [`fetcher`]: the `run(self, shutdown)` task; [`schedule`]: when to fetch next.
//! - [`endpoint`]: the bundle endpoint.

pub mod accept;
mod client;
pub mod endpoint;
pub mod endpoint_svid;
mod error;
pub mod fetcher;
pub mod relationship;
pub mod schedule;
mod transport;

pub use error::FetchError;
pub use relationship::{Profile, Relationship, RelationshipError};
pub use transport::MAX_DOCUMENT_BYTES;

use std::net::SocketAddr;
use std::sync::Arc;

use tessera_proto::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ca::CaManager;
use crate::config::{EndpointProfile, FederationSection};
use crate::datastore::{BundleStore, CaJournalStore, FederationStore};
use crate::tls::{TlsError, TlsPublisher};
use endpoint::{BundleEndpoint, EndpointError};
use fetcher::Fetcher;
use schedule::Bounds;

/// Why federation could not start.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The endpoint's certificate files.
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    /// The server SVID for `https_spiffe`.
    #[error("federation bundle endpoint: {0}")]
    Svid(#[from] TlsError),
    /// The endpoint's address could not be bound.
    #[error("federation.bind_address {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// `[federation] ca_file`.
    #[error("{0}")]
    Roots(#[from] client::ClientConfigError),
    /// A part failed while running.
    #[error("{0}")]
    Running(String),
}

/// The bundle endpoint (when configured), its SVID publisher (`https_spiffe`) and the
/// fetcher, as one part.
#[derive(Debug)]
pub struct Federation<S> {
    endpoint: Option<BundleEndpoint>,
    publisher: Option<TlsPublisher<S>>,
    fetcher: Fetcher<S>,
}

impl<S> Federation<S>
where
    S: FederationStore + BundleStore + CaJournalStore + Clone + std::fmt::Debug,
{
    /// Reads the files, binds the endpoint and builds the first TLS configuration now.
    pub async fn start(
        section: &FederationSection,
        ca: Arc<CaManager<S>>,
        store: S,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FederationError> {
        let roots = client::web_roots(section.ca_file.as_deref())?;
        let fetcher = Fetcher::new(
            store,
            clock.clone(),
            ca.config().trust_domain.clone(),
            roots,
            Bounds {
                min: section.min_refresh,
                max: section.max_refresh,
            },
        );
        let Some(address) = section.bind_address else {
            return Ok(Self {
                endpoint: None,
                publisher: None,
                fetcher,
            });
        };
        let (tls, publisher) = match section.profile {
            EndpointProfile::HttpsWeb => {
                let (Some(cert), Some(key)) = (&section.certificate_file, &section.key_file) else {
                    // The config check requires both with https_web.
                    return Err(FederationError::Running(
                        "federation.certificate_file and key_file are required".into(),
                    ));
                };
                (watch::channel(endpoint::web_config(cert, key)?).1, None)
            }
            EndpointProfile::HttpsSpiffe => {
                let (publisher, rx) =
                    TlsPublisher::new(ca.clone(), clock, endpoint::svid_profile())?;
                (rx, Some(publisher))
            }
        };
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| FederationError::Bind { address, source })?;
        tracing::info!(%address, profile = ?section.profile, "federation bundle endpoint listening");
        let router = endpoint::router(ca, section.refresh_hint);
        Ok(Self {
            endpoint: Some(BundleEndpoint::new(listener, router, tls)),
            publisher,
            fetcher,
        })
    }

    /// Runs the parts until `shutdown`; the first failure ends them all.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), FederationError> {
        let Self {
            endpoint,
            publisher,
            fetcher,
        } = self;
        let serve = async {
            match endpoint {
                Some(endpoint) => endpoint
                    .run(shutdown.clone())
                    .await
                    .map_err(FederationError::Running),
                None => Ok(()),
            }
        };
        let publish = async {
            match publisher {
                Some(publisher) => publisher.run(shutdown.clone()).await.map_err(Into::into),
                None => Ok(()),
            }
        };
        let fetch = async {
            fetcher.run(shutdown.clone()).await;
            Ok::<(), FederationError>(())
        };
        tokio::try_join!(serve, publish, fetch).map(|_| ())
    }
}
