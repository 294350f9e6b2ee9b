//! Dialing the server: TCP, then TLS with ALPN h2, then a tonic channel.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::config::ServerAddress;
use crate::x509::SvidWithKey;

/// Bound on TCP connect + TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on each RPC.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server could not be reached or TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TLS configuration could not be built (bad agent key or certificate).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// No address could be connected to; the last error is kept.
    #[error("cannot connect to the server ({address}): {message}")]
    Unreachable {
        /// The last address tried.
        address: String,
        /// Why.
        message: String,
    },
}

/// A rustls client config with `verifier`, ALPN h2, and `client` as client certificate.
pub fn client_config(
    verifier: Arc<dyn ServerCertVerifier>,
    client: Option<&SvidWithKey>,
) -> Result<ClientConfig, ConnectError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some(svid) => {
            let chain: Vec<CertificateDer<'static>> = svid
                .cert_chain
                .iter()
                .map(|c| CertificateDer::from(c.clone()))
                .collect();
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(svid.private_key_pkcs8.to_vec()));
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnectError::Config(e.to_string()))?
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Connects to the first reachable address (in order) with `config`.
pub async fn connect(
    addresses: &[ServerAddress],
    config: Arc<ClientConfig>,
) -> Result<Channel, ConnectError> {
    let mut last = ConnectError::Unreachable {
        address: "(none)".into(),
        message: "no server_address configured".into(),
    };
    for address in addresses {
        match connect_one(address, config.clone()).await {
            Ok(channel) => return Ok(channel),
            Err(e) => {
                tracing::debug!(%address, error = %e, "server address failed");
                last = ConnectError::Unreachable {
                    address: address.to_string(),
                    message: error_chain(&e),
                };
            }
        }
    }
    Err(last)
}

/// An error and its sources, `: `-separated (tonic's transport errors hide the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// How often an idle connection to the server is PINGed (well under the server's default
/// 300 s idle timeout).
const KEEPALIVE: Duration = Duration::from_secs(60);

async fn connect_one(
    address: &ServerAddress,
    config: Arc<ClientConfig>,
) -> Result<Channel, tonic::transport::Error> {
    // The URI is required by the builder; the connector below does the dialing.
    let uri = format!("http://{address}");
    let host = address.host.clone();
    let port = address.port;
    // HTTP/2 PINGs keep an otherwise silent connection (a push stream between hourly
    // syncs) from being closed by the server's `[agent_api] idle_timeout`.
    let endpoint = Endpoint::from_shared(uri)?
        .timeout(REQUEST_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE)
        .keep_alive_while_idle(true);
    endpoint
        .connect_with_connector(tower::service_fn(move |_| {
            let host = host.clone();
            let config = config.clone();
            async move { dial(&host, port, config).await.map(TokioIo::new) }
        }))
        .await
}

async fn dial(
    host: &str,
    port: u16,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    // The verifier ignores the name; it only feeds SNI.
    let name = ServerName::try_from(host.to_owned())
        .or_else(|_| ServerName::try_from("tessera-server"))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // Every address the name resolves to (a DNS name of several replicas) is tried in turn,
    // each with its own deadline: one silent replica does not use up the others' time.
    let mut last =
        std::io::Error::new(std::io::ErrorKind::NotFound, "the name resolved to nothing");
    for addr in tokio::net::lookup_host((host, port)).await? {
        let handshake = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out"),
                );
            }
        }
    }
    Err(last)
}
