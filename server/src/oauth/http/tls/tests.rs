//! The OAuth server over real TLS connections (tokio-rustls client, HTTP/1.1 by hand).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::routing::get;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use tessera_proto::clock::SystemClock;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{config_from_pem_files, serve, server_config};
use crate::oauth::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, ClientCertificate,
    OAuthHttpConfig, OAuthServer, PresentedCredentials, SignFailure, TokenSigner,
};

struct NoClients;

impl ClientAuthenticator for NoClients {
    async fn authenticate(
        &self,
        _: &PresentedCredentials,
        _: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        Err(ClientAuthFailure::Invalid)
    }

    async fn use_once(
        &self,
        _client_id: &str,
        _single_use: &crate::oauth::http::SingleUse,
        _now: std::time::SystemTime,
    ) -> Result<(), ClientAuthFailure> {
        Ok(())
    }
}

struct StaticJwks;

impl TokenSigner for StaticJwks {
    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{"kid": "tls-test-key", "use": "sig"}]})
    }

    fn sign(
        &self,
        _: SystemTime,
        _: &serde_json::Map<String, serde_json::Value>,
        _: &str,
    ) -> Result<String, SignFailure> {
        Err(SignFailure::Unavailable("test".into()))
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        None
    }
}

/// A CA and a `localhost` / 127.0.0.1 server certificate it signed.
struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    Pki {
        ca: ca_cert.der().clone(),
        chain: vec![leaf.der().clone(), ca_cert.der().clone()],
        key,
    }
}

fn private(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A self-signed client certificate and its key.
fn client_identity() -> (CertificateDer<'static>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![rcgen::SanType::URI(
        "spiffe://example.org/mesh-svc".try_into().unwrap(),
    )];
    (params.self_signed(&key).unwrap().der().clone(), key)
}

fn client_config(
    ca: &CertificateDer<'static>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    match identity {
        None => builder.with_no_client_auth(),
        // No key/certificate consistency check: the server must do it (CertificateVerify).
        Some((chain, key)) => {
            let signing = provider.key_provider.load_private_key(key).unwrap();
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(CertifiedKey::new(
                chain, signing,
            ))))
        }
    }
}

/// `GET path` over TLS with HTTP/1.1; the raw response, or the I/O error.
async fn get_over_tls(
    addr: std::net::SocketAddr,
    config: rustls::ClientConfig,
    path: &str,
) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A route answering what the connection's client certificate extension holds.
fn whoami_router() -> Router {
    Router::new().route(
        "/whoami",
        get(
            |cert: Option<axum::Extension<ClientCertificate>>| async move {
                match cert {
                    Some(axum::Extension(ClientCertificate(chain))) => {
                        format!("certs={} leaf={}", chain.len(), hex::encode(&chain[0]))
                    }
                    None => "anonymous".to_string(),
                }
            },
        ),
    )
}

async fn listener() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn jwks_over_tls_from_pem_files_and_graceful_shutdown() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("chain.pem");
    let key_path = dir.path().join("key.pem");
    let chain_pem: String = pki
        .chain
        .iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.to_vec())))
        .collect();
    std::fs::write(&cert_path, chain_pem).unwrap();
    std::fs::write(&key_path, pki.key.serialize_pem()).unwrap();
    let tls = config_from_pem_files(&cert_path, &key_path).unwrap();

    let server = OAuthServer::new(
        OAuthHttpConfig::new("https://localhost"),
        NoClients,
        StaticJwks,
        Arc::new(crate::datastore::memory::MemoryStore::default()),
        Arc::new(SystemClock),
    );
    let (listener, addr) = listener().await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run_tls(listener, watch::channel(tls).1, shutdown.clone()));

    // A client that does not speak TLS is dropped; the server keeps serving.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = plain.read_to_end(&mut sink).await;
    assert!(!String::from_utf8_lossy(&sink).contains("tls-test-key"));

    let response = get_over_tls(addr, client_config(&pki.ca, None), "/.well-known/jwks.json")
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("tls-test-key"), "{response}");

    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[tokio::test]
async fn a_presented_client_certificate_reaches_every_request_as_an_extension() {
    let pki = pki();
    let tls = server_config(pki.chain.clone(), private(&pki.key)).unwrap();
    let (listener, addr) = listener().await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        whoami_router(),
        watch::channel(tls).1,
        std::time::Duration::from_secs(10),
        shutdown.clone(),
    ));

    let anonymous = get_over_tls(addr, client_config(&pki.ca, None), "/whoami")
        .await
        .unwrap();
    assert!(anonymous.ends_with("anonymous"), "{anonymous}");

    // Any chain is accepted at the handshake (a self-signed one here): client
    // authentication checks it later against the trust bundles.
    let (cert, key) = client_identity();
    let with_cert = get_over_tls(
        addr,
        client_config(&pki.ca, Some((vec![cert.clone()], private(&key)))),
        "/whoami",
    )
    .await
    .unwrap();
    assert!(
        with_cert.ends_with(&format!("certs=1 leaf={}", hex::encode(&cert))),
        "{with_cert}"
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_certificate_without_its_private_key_fails_the_handshake() {
    let pki = pki();
    let tls = server_config(pki.chain.clone(), private(&pki.key)).unwrap();
    let (listener, addr) = listener().await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        whoami_router(),
        watch::channel(tls).1,
        std::time::Duration::from_secs(10),
        shutdown.clone(),
    ));

    // Someone else's certificate (e.g. copied from a TLS log) with the attacker's key.
    let (stolen, _) = client_identity();
    let attacker = KeyPair::generate().unwrap();
    let result = get_over_tls(
        addr,
        client_config(&pki.ca, Some((vec![stolen], private(&attacker)))),
        "/whoami",
    )
    .await;
    match result {
        Err(_) => {}
        Ok(response) => assert!(
            !response.contains("certs="),
            "a certificate without proof of key possession got through: {response}"
        ),
    }
    // The server is still up.
    let ok = get_over_tls(addr, client_config(&pki.ca, None), "/whoami")
        .await
        .unwrap();
    assert!(ok.ends_with("anonymous"), "{ok}");
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[test]
fn file_errors_name_the_key_and_path_without_key_material() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("chain.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(
        &cert_path,
        pem::encode(&pem::Pem::new("CERTIFICATE", pki.chain[0].to_vec())),
    )
    .unwrap();

    let missing = config_from_pem_files(&cert_path, &key_path)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("oauth.tls_key_file") && missing.contains(&*key_path.to_string_lossy()),
        "{missing}"
    );

    let secret_looking = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";
    std::fs::write(
        &key_path,
        format!("-----BEGIN PRIVATE KEY-----\n{secret_looking}!!\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let garbled = config_from_pem_files(&cert_path, &key_path)
        .unwrap_err()
        .to_string();
    assert!(garbled.contains("oauth.tls_key_file"), "{garbled}");
    assert!(!garbled.contains(secret_looking), "{garbled}");

    let other = KeyPair::generate().unwrap();
    std::fs::write(&key_path, other.serialize_pem()).unwrap();
    let mismatch = config_from_pem_files(&cert_path, &key_path)
        .unwrap_err()
        .to_string();
    assert!(mismatch.contains("oauth.tls_cert_file"), "{mismatch}");

    std::fs::write(&cert_path, "not pem").unwrap();
    let no_cert = config_from_pem_files(&cert_path, &key_path)
        .unwrap_err()
        .to_string();
    assert!(
        no_cert.contains("oauth.tls_cert_file") && no_cert.contains(&*cert_path.to_string_lossy()),
        "{no_cert}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_the_handshake_is_dropped_after_the_deadline() {
    let pki = pki();
    let tls = server_config(pki.chain.clone(), private(&pki.key)).unwrap();
    let (listener, addr) = listener().await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        whoami_router(),
        watch::channel(tls).1,
        std::time::Duration::from_secs(10),
        shutdown.clone(),
    ));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    // Paused time: the runtime jumps to the next timer when idle, so the server's
    // handshake deadline fires first (well before this bound).
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(super::HANDSHAKE_TIMEOUT * 6, idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the idle connection was not closed: {read:?}"
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
