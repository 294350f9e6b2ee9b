//! A TLS configuration from `[oauth] tls_cert_file` + `tls_key_file` (PEM, read at start).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{AnyClientCertificate, alpn};

/// Why the certificate files could not be used. Messages name the config key and path,
/// never key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{key} {path}: {message}")]
    File {
        /// The config key (`oauth.tls_cert_file`, `federation.key_file`, …).
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (no key bytes).
        message: String,
    },
    /// rustls refused the pair (e.g. the key does not match the leaf).
    #[error("oauth.tls_cert_file / oauth.tls_key_file: {0}")]
    Pair(String),
}

/// Reads the chain and key and builds the OAuth server's configuration.
pub fn config_from_pem_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsFileError> {
    let (chain, private) =
        read_pem_pair((cert, "oauth.tls_cert_file"), (key, "oauth.tls_key_file"))?;
    server_config(chain, private)
}

/// A certificate chain (leaf first) and its private key from PEM files, each named by its
/// config key in errors. The key's parse error is reduced to its kind: nothing of the file
/// is echoed.
pub fn read_pem_pair(
    (cert, cert_key): (&Path, &'static str),
    (key, key_key): (&Path, &'static str),
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsFileError> {
    let file_error = |key: &'static str, path: &Path, message: String| TlsFileError::File {
        key,
        path: path.to_path_buf(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_error(cert_key, cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert_key, cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(
            cert_key,
            cert,
            "no CERTIFICATE in the file".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no private key in the file".into(),
            rustls::pki_types::pem::Error::Io(io) => io.to_string(),
            _ => "not a PEM private key (PKCS#8, SEC1 or PKCS#1)".into(),
        };
        file_error(key_key, key, why)
    })?;
    Ok((chain, private))
}

/// The OAuth server's configuration for a chain (leaf first) and its key: optional client
/// certificates ([`AnyClientCertificate`]), HTTP/2 and HTTP/1.1.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsFileError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let pair = |e: rustls::Error| TlsFileError::Pair(e.to_string());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(pair)?
        .with_client_cert_verifier(Arc::new(AnyClientCertificate::new()))
        .with_single_cert(chain, key)
        .map_err(pair)?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}
