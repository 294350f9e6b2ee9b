//! Server certificate verification by SPIFFE ID (the server's SVID has no DNS SAN).

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::TrustAnchor;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error, SignatureScheme};
use tessera_proto::wire::tessera::types::v1::Bundle;
use webpki::KeyUsage;

use crate::x509::{LeafFacts, X509Error, trust_anchors};

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

/// Verifies the server's chain against the bundle's X.509 authorities and requires its only
/// URI SAN to be the expected server SPIFFE ID. The TLS server name is ignored.
#[derive(Debug)]
pub struct SpiffeServerVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    expected_id: String,
    algs: WebPkiSupportedAlgorithms,
}

impl SpiffeServerVerifier {
    /// A verifier trusting `bundle`'s X.509 authorities and accepting only `expected_id`.
    pub fn new(bundle: &Bundle, expected_id: String) -> Self {
        Self {
            anchors: trust_anchors(bundle),
            expected_id,
            algs: algorithms(),
        }
    }
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        crate::x509::verify_der_for_tls(
            end_entity,
            intermediates,
            &self.anchors,
            now,
            KeyUsage::server_auth(),
        )
        .map_err(|e| {
            tracing::warn!(error = %e, "server certificate refused");
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        })?;
        let facts = LeafFacts::parse(end_entity)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        match facts.spiffe_id() {
            Ok(id) if id == self.expected_id => Ok(ServerCertVerified::assertion()),
            Ok(id) => {
                tracing::warn!(presented = id, expected = %self.expected_id, "server SPIFFE ID refused");
                Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            }
            Err(X509Error::Mismatch(m)) | Err(X509Error::Malformed(m)) => {
                tracing::warn!(reason = m, "server certificate has no usable SPIFFE ID");
                Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            }
            Err(_) => Err(Error::InvalidCertificate(CertificateError::NotValidForName)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// DEV ONLY: accepts any server certificate (handshake signatures are still checked). Used
/// for the first attestation with `insecure_bootstrap = true`, never afterwards.
#[derive(Debug)]
pub struct InsecureBootstrapVerifier {
    algs: WebPkiSupportedAlgorithms,
}

impl Default for InsecureBootstrapVerifier {
    fn default() -> Self {
        Self { algs: algorithms() }
    }
}

impl ServerCertVerifier for InsecureBootstrapVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
