//! `https_spiffe`: the bundle endpoint's X.509-SVID must chain to the bundle held for its
//! trust domain (the one chain verifier, [`x509_chain`]) and name the configured SPIFFE ID.

use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use tessera_proto::identity::SpiffeId;
use tessera_proto::x509_chain::{self, ChainError, KeyUsage};
use tessera_proto::x509_san::{SanError, svid_spiffe_id};
use x509_parser::prelude::FromDer as _;

/// Why an endpoint's certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointSvidError {
    /// The chain does not verify against the held bundle.
    #[error("the endpoint's certificate does not chain to the held bundle: {0}")]
    Chain(#[from] ChainError),
    /// The leaf is not an X.509-SVID.
    #[error("the endpoint's certificate is not an X.509-SVID: {0}")]
    NotAnSvid(#[from] SanError),
    /// The leaf does not parse.
    #[error("the endpoint's certificate does not parse")]
    Malformed,
    /// The SVID names another workload.
    #[error("the endpoint presented {found}, expected {expected}")]
    WrongId {
        /// The SPIFFE ID found.
        found: String,
        /// The configured one.
        expected: String,
    },
}

/// Verifies `leaf` (with `intermediates`) as a TLS server certificate up to `anchors` at
/// `now`, and that it names `expected`.
pub fn verify_endpoint_svid(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    expected: &SpiffeId,
    now: UnixTime,
) -> Result<(), EndpointSvidError> {
    x509_chain::verify(leaf, intermediates, anchors, now, KeyUsage::server_auth())?;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(leaf.as_ref())
        .map_err(|_| EndpointSvidError::Malformed)?;
    let found = svid_spiffe_id(&cert)?;
    if &found != expected {
        return Err(EndpointSvidError::WrongId {
            found: found.to_string(),
            expected: expected.to_string(),
        });
    }
    Ok(())
}
