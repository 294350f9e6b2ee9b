//! The TLS client configuration of a fetch, per profile: Web PKI roots for `https_web`; for
//! `https_spiffe` a verifier that accepts exactly an X.509-SVID with the configured ID
//! chaining to the bundle held for the trust domain.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tessera_proto::identity::SpiffeId;
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_proto::x509_chain;

use super::endpoint_svid::{EndpointSvidError, verify_endpoint_svid};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Why a client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// rustls refused the material.
    #[error("TLS client configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// `[federation] ca_file` could not be read.
    #[error("federation.ca_file {path}: {message}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
}

/// The roots for `https_web`: the certificates of `ca_file` (PEM), else the webpki roots.
pub fn web_roots(
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<RootCertStore>, ClientConfigError> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let fail = |message: String| ClientConfigError::CaFile {
                path: path.to_path_buf(),
                message,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| fail(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(e.to_string()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(fail("no usable CERTIFICATE in the file".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(Arc::new(roots))
}

/// `https_web`: standard Web PKI server authentication against `roots`.
pub fn web_config(roots: Arc<RootCertStore>) -> Result<ClientConfig, ClientConfigError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Why the last handshake refused the endpoint's certificate (rustls only carries a generic
/// alert; this keeps the reason for `last_error`).
pub type RefusalSlot = Arc<Mutex<Option<EndpointSvidError>>>;

/// `https_spiffe`: the endpoint must present `expected`'s X.509-SVID chaining to `held`.
/// A refusal's reason lands in the returned slot.
pub fn spiffe_config(
    held: &Bundle,
    expected: SpiffeId,
) -> Result<(ClientConfig, RefusalSlot), ClientConfigError> {
    let provider = provider();
    let refusal = RefusalSlot::default();
    let verifier = SpiffeEndpointVerifier {
        anchors: x509_chain::trust_anchors(held.x509_authorities.iter().map(|a| a.asn1.as_slice())),
        expected,
        provider: provider.clone(),
        refusal: refusal.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, refusal))
}

/// Authenticates a bundle endpoint by SPIFFE ID (SVIDs carry no DNS name to check).
#[derive(Debug)]
struct SpiffeEndpointVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    expected: SpiffeId,
    provider: Arc<CryptoProvider>,
    refusal: RefusalSlot,
}

impl ServerCertVerifier for SpiffeEndpointVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        verify_endpoint_svid(
            end_entity,
            intermediates,
            &self.anchors,
            &self.expected,
            now,
        )
        .map(|()| ServerCertVerified::assertion())
        .map_err(|e| {
            *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
