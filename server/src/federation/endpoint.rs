//! The bundle endpoint (SPIFFE Trust Domain and Bundle §5): `GET /` answers the trust
//! domain's current bundle document (`spiffe_sequence`, `spiffe_refresh_hint`) over TLS,
//! authenticated as `https_spiffe` (the server's own X.509-SVID, kept current by a
//! [`TlsPublisher`]) or `https_web` (certificate files read at start).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tessera_proto::bundle::BundleDocument;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ca::CaManager;
use crate::datastore::{BundleStore, CaJournalStore};
use crate::oauth::http::tls::{TlsFileError, read_pem_pair};
use crate::tls::{ClientAuth, SvidTlsProfile};

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the served document comes from (the CA's current bundle).
pub trait BundleSource: Send + Sync + 'static {
    /// The trust domain's bundle document now.
    fn document(&self) -> Result<BundleDocument, String>;
}

impl<S: CaJournalStore + BundleStore> BundleSource for CaManager<S> {
    fn document(&self) -> Result<BundleDocument, String> {
        self.snapshot().spiffe_document().map_err(|e| e.to_string())
    }
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// `https_web` certificate or key file.
    #[error("{key} {path}: {message}")]
    File {
        /// The config key.
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why (never key bytes).
        message: String,
    },
    /// rustls refused the material.
    #[error("federation bundle endpoint TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The `https_spiffe` endpoint's TLS profile: the server SVID, no client certificates.
pub fn svid_profile() -> SvidTlsProfile {
    SvidTlsProfile {
        label: "bundle endpoint",
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        client_auth: ClientAuth::Verifier(WebPkiClientVerifier::no_client_auth()),
        alpn: vec![b"http/1.1".to_vec()],
    }
}

/// The `https_web` endpoint's TLS configuration from PEM files.
pub fn web_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, EndpointError> {
    let (chain, private) = read_pem_pair(
        (cert, "federation.certificate_file"),
        (key, "federation.key_file"),
    )
    .map_err(|e| match e {
        TlsFileError::File { key, path, message } => EndpointError::File { key, path, message },
        other => EndpointError::Rustls(rustls::Error::General(other.to_string())),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, private)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[derive(Clone)]
struct Served {
    source: Arc<dyn BundleSource>,
    refresh_hint: Option<Duration>,
}

/// The document as served: the source's, with the configured refresh hint when set.
fn body(source: &dyn BundleSource, refresh_hint: Option<Duration>) -> Result<String, String> {
    let mut doc = source.document()?;
    if let Some(hint) = refresh_hint {
        doc.refresh_hint = Some(hint.as_secs().max(1));
    }
    doc.to_json().map_err(|e| e.to_string())
}

async fn bundle(State(served): State<Served>) -> Response {
    match body(served.source.as_ref(), served.refresh_hint) {
        Ok(json) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            json,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "bundle endpoint: cannot write the bundle document");
            (StatusCode::SERVICE_UNAVAILABLE, "bundle unavailable\n").into_response()
        }
    }
}

/// The bundle endpoint's routes: `GET /`.
pub fn router(source: Arc<dyn BundleSource>, refresh_hint: Option<Duration>) -> Router {
    Router::new().route("/", get(bundle)).with_state(Served {
        source,
        refresh_hint,
    })
}

/// A bound bundle endpoint.
pub struct BundleEndpoint {
    listener: TcpListener,
    router: Router,
    tls: watch::Receiver<Arc<ServerConfig>>,
}

impl std::fmt::Debug for BundleEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleEndpoint")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl BundleEndpoint {
    /// An endpoint on `listener` serving `router` with the TLS configuration in `tls`.
    pub fn new(
        listener: TcpListener,
        router: Router,
        tls: watch::Receiver<Arc<ServerConfig>>,
    ) -> Self {
        Self {
            listener,
            router,
            tls,
        }
    }

    /// Serves until `shutdown` (the OAuth server's TLS accept loop).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), String> {
        crate::oauth::http::tls::serve(
            self.listener,
            self.router,
            self.tls,
            HEADER_READ_TIMEOUT,
            shutdown,
        )
        .await
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use tessera_proto::identity::TrustDomain;

    struct Fixed(Result<BundleDocument, String>);

    impl BundleSource for Fixed {
        fn document(&self) -> Result<BundleDocument, String> {
            self.0.clone()
        }
    }

    #[test]
    fn the_configured_hint_replaces_the_bundles() {
        let mut doc = BundleDocument::new(TrustDomain::new("a.example").unwrap());
        doc.sequence = Some(4);
        doc.refresh_hint = Some(300);
        let source = Fixed(Ok(doc));
        let served: serde_json::Value =
            serde_json::from_str(&body(&source, Some(Duration::from_secs(5))).unwrap()).unwrap();
        assert_eq!(served["spiffe_refresh_hint"], 5);
        assert_eq!(served["spiffe_sequence"], 4);
        let served: serde_json::Value =
            serde_json::from_str(&body(&source, None).unwrap()).unwrap();
        assert_eq!(served["spiffe_refresh_hint"], 300);
        assert!(body(&Fixed(Err("no CA".into())), None).is_err());
    }
}
