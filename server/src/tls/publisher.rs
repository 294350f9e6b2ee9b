//! A TLS server identity from the server's own X.509-SVID (`spiffe://<td>/tessera/server`)
//! with a client verifier chosen by the profile, rebuilt and published as a new
//! `Arc<ServerConfig>` whenever the bundle changes or the SVID passes half its life.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
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

/// How a configuration treats client certificates.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// Optional; one presented must chain to the current trust bundle (the agent API).
    Bundle,
    /// A verifier of the caller's own (e.g. the OAuth server's "any chain, key possession
    /// proven" verifier, whose chain check happens later at client authentication).
    Verifier(Arc<dyn ClientCertVerifier>),
}

/// What a published configuration looks like besides the SVID's SPIFFE ID.
#[derive(Debug, Clone)]
pub struct SvidTlsProfile {
    /// Who the configuration is for, in logs (e.g. `agent API`).
    pub label: &'static str,
    /// DNS SANs of the server SVID (the first becomes the CN).
    pub dns_names: Vec<String>,
    /// IP address SANs of the server SVID.
    pub ip_addresses: Vec<IpAddr>,
    /// Client certificate handling.
    pub client_auth: ClientAuth,
    /// ALPN protocols offered, most preferred first.
    pub alpn: Vec<Vec<u8>>,
}

impl SvidTlsProfile {
    /// The agent API's: no extra SANs, clients verified against the bundle, HTTP/2 only.
    pub fn agent_api() -> Self {
        Self {
            label: "agent API",
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            client_auth: ClientAuth::Bundle,
            alpn: vec![b"h2".to_vec()],
        }
    }
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

/// Builds a server config: a fresh server SVID with the profile's SANs, and the profile's
/// client verifier ([`ClientAuth::Bundle`]: the bundle as client trust anchors; clients may
/// connect without a certificate, one they present must chain to the bundle).
fn build(
    snapshot: &CaSnapshot,
    profile: &SvidTlsProfile,
    now: SystemTime,
) -> Result<Built, TlsError> {
    let key = KeyType::EcP256.generate()?;
    let svid = snapshot.sign_x509_svid(
        now,
        &X509SvidRequest {
            spiffe_id: server_id(snapshot.trust_domain()),
            public_key: key.public_key_der(),
            dns_names: profile.dns_names.clone(),
            ip_addresses: profile.ip_addresses.clone(),
            ttl: None,
        },
    )?;
    let rustls_err = |e: rustls::Error| TlsError::Rustls(e.to_string());
    let verifier = match &profile.client_auth {
        ClientAuth::Verifier(verifier) => verifier.clone(),
        ClientAuth::Bundle => {
            let mut roots = rustls::RootCertStore::empty();
            for der in snapshot.x509_authorities() {
                roots.add(CertificateDer::from(der)).map_err(rustls_err)?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?
        }
    };
    let chain = svid.chain.into_iter().map(CertificateDer::from).collect();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8().to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(rustls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private)
        .map_err(rustls_err)?;
    config.alpn_protocols = profile.alpn.clone();
    let life = svid.expires_at.duration_since(now).unwrap_or_default();
    Ok(Built {
        config: Arc::new(config),
        bundle_sequence: snapshot.bundle().sequence,
        refresh_at: now + life / 2,
    })
}

/// Keeps a TLS configuration with the server's SVID current.
#[derive(Debug)]
pub struct TlsPublisher<S> {
    ca: Arc<CaManager<S>>,
    clock: Arc<dyn Clock>,
    profile: SvidTlsProfile,
    tx: watch::Sender<Arc<ServerConfig>>,
    current: Built,
}

impl<S: CaJournalStore + BundleStore> TlsPublisher<S> {
    /// Builds the first configuration now; the receiver always holds a usable one.
    pub fn new(
        ca: Arc<CaManager<S>>,
        clock: Arc<dyn Clock>,
        profile: SvidTlsProfile,
    ) -> Result<(Self, watch::Receiver<Arc<ServerConfig>>), TlsError> {
        let current = build(&ca.snapshot(), &profile, clock.now())?;
        let (tx, rx) = watch::channel(current.config.clone());
        Ok((
            Self {
                ca,
                clock,
                profile,
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
            match build(&self.ca.snapshot(), &self.profile, self.clock.now()) {
                Ok(built) => {
                    self.tx.send_replace(built.config.clone());
                    self.current = built;
                    tracing::info!(part = self.profile.label, "TLS configuration renewed");
                }
                Err(e) => {
                    tracing::error!(part = self.profile.label, error = %e, "renewing the TLS configuration failed; retrying");
                    self.current.refresh_at = self.clock.now() + Duration::from_secs(10);
                }
            }
        }
    }
}
