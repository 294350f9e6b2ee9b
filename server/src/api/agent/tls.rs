//! The agent API's TLS: the server's own X.509-SVID (`spiffe://<td>/tessera/server`) and a
//! client verifier over the current trust bundle, rebuilt and published as a new
//! `Arc<ServerConfig>` whenever the bundle changes or the SVID passes half its life.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tessera_proto::clock::Clock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ca::{CaError, CaManager, CaSnapshot, KeyType, X509SvidRequest};
use crate::datastore::{BundleStore, CaJournalStore};
use crate::registration::server_id;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA could not sign the server SVID.
    #[error("server SVID: {0}")]
    Ca(#[from] CaError),
    /// rustls refused the material.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// A built configuration and when it should be rebuilt.
#[derive(Debug)]
struct Built {
    config: Arc<ServerConfig>,
    bundle_sequence: u64,
    refresh_at: SystemTime,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Builds a server config: a fresh server SVID and the bundle as client trust anchors.
/// Clients may connect without a certificate (attestation); one they present must chain
/// to the bundle.
fn build(snapshot: &CaSnapshot, now: SystemTime) -> Result<Built, TlsError> {
    let key = KeyType::EcP256.generate()?;
    let svid = snapshot.sign_x509_svid(
        now,
        &X509SvidRequest {
            spiffe_id: server_id(snapshot.trust_domain()),
            public_key: key.public_key_der(),
            dns_names: Vec::new(),
            ttl: None,
        },
    )?;
    let rustls_err = |e: rustls::Error| TlsError::Rustls(e.to_string());
    let mut roots = rustls::RootCertStore::empty();
    for der in snapshot.x509_authorities() {
        roots.add(CertificateDer::from(der)).map_err(rustls_err)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let chain = svid.chain.into_iter().map(CertificateDer::from).collect();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8().to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(rustls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private)
        .map_err(rustls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let life = svid.expires_at.duration_since(now).unwrap_or_default();
    Ok(Built {
        config: Arc::new(config),
        bundle_sequence: snapshot.bundle().sequence,
        refresh_at: now + life / 2,
    })
}

/// Keeps the agent API's TLS configuration current.
#[derive(Debug)]
pub struct TlsPublisher<S> {
    ca: Arc<CaManager<S>>,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<Arc<ServerConfig>>,
    current: Built,
}

impl<S: CaJournalStore + BundleStore> TlsPublisher<S> {
    /// Builds the first configuration now; the receiver always holds a usable one.
    pub fn new(
        ca: Arc<CaManager<S>>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, watch::Receiver<Arc<ServerConfig>>), TlsError> {
        let current = build(&ca.snapshot(), clock.now())?;
        let (tx, rx) = watch::channel(current.config.clone());
        Ok((
            Self {
                ca,
                clock,
                tx,
                current,
            },
            rx,
        ))
    }

    /// Rebuilds on bundle changes and at the SVID's half-life until `shutdown`. A failed
    /// rebuild keeps serving the last good configuration and retries.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), TlsError> {
        let mut ca_rx = self.ca.subscribe();
        loop {
            let now = self.clock.now();
            let wait = self
                .current
                .refresh_at
                .duration_since(now)
                .unwrap_or_default()
                .max(Duration::from_millis(100));
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = ca_rx.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if ca_rx.borrow_and_update().bundle().sequence == self.current.bundle_sequence {
                        continue;
                    }
                }
                () = tokio::time::sleep(wait) => {}
            }
            match build(&self.ca.snapshot(), self.clock.now()) {
                Ok(built) => {
                    self.tx.send_replace(built.config.clone());
                    self.current = built;
                    tracing::info!("agent API TLS configuration renewed");
                }
                Err(e) => {
                    tracing::error!(error = %e, "renewing the agent API TLS configuration failed; retrying");
                    self.current.refresh_at = self.clock.now() + Duration::from_secs(10);
                }
            }
        }
    }
}
