//! Whether a fetched bundle document replaces the held one: the verification rules, as pure
//! functions of the fetched bytes, what is held and (for `https_spiffe`) the endpoint's own
//! certificate chain from the same connection.
//!
//! A bundle document does not name its trust domain, so "a bundle of another trust domain"
//! is recognised by what it contains:
//! - an X.509 authority whose URI SAN is a SPIFFE ID of another trust domain (SPIFFE signing
//!   certificates carry `spiffe://<td>`; Tessera's always do) is refused;
//! - `https_spiffe`: the new bundle must still verify the endpoint's own X.509-SVID (a
//!   trust domain's endpoint is signed by that trust domain's CA, which is in its bundle);
//!   a bundle that would not lets the next fetch fail, so it is refused now.
//!
//! Also refused: a document that does not parse as a SPIFFE bundle (any key in error), and
//! a `spiffe_sequence` lower than the last accepted one from the endpoint.

use rustls::pki_types::{CertificateDer, UnixTime};
use tessera_proto::bundle::{BundleDocument, BundleError};
use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_proto::x509_chain;
use tessera_proto::x509_san::uri_sans;
use x509_parser::prelude::FromDer as _;

use super::endpoint_svid::{EndpointSvidError, verify_endpoint_svid};

/// Why a fetched document was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Not a valid SPIFFE bundle.
    #[error("not a valid SPIFFE bundle: {0}")]
    Document(#[from] BundleError),
    /// An X.509 authority belongs to another trust domain.
    #[error(
        "x509 authority {index} is a CA of {found}, not of {expected}: a bundle of another trust domain"
    )]
    ForeignAuthority {
        /// Its index among the X.509 authorities.
        index: usize,
        /// The SPIFFE ID in its URI SAN.
        found: String,
        /// The relationship's trust domain.
        expected: String,
    },
    /// `spiffe_sequence` went backwards.
    #[error("spiffe_sequence {got} is lower than the last accepted {last}")]
    SequenceRegressed {
        /// Served.
        got: u64,
        /// Last accepted.
        last: u64,
    },
    /// `https_spiffe`: the served bundle does not verify the endpoint's own SVID.
    #[error(
        "the served bundle does not verify the endpoint's own certificate ({0}): a bundle of another trust domain?"
    )]
    EndpointNotCovered(EndpointSvidError),
}

/// The endpoint's chain as presented in the connection the document came over
/// (`https_spiffe`).
#[derive(Debug)]
pub struct PresentedSvid<'a> {
    /// Leaf first.
    pub chain: &'a [CertificateDer<'static>],
    /// The ID the endpoint must have.
    pub expected: &'a SpiffeId,
    /// When it was presented.
    pub now: UnixTime,
}

/// Parses and checks a fetched document of `trust_domain` (see the module's rules).
pub fn accept(
    trust_domain: &TrustDomain,
    body: &[u8],
    last_sequence: Option<u64>,
    presented: Option<&PresentedSvid<'_>>,
) -> Result<BundleDocument, Refusal> {
    let doc = BundleDocument::parse(trust_domain.clone(), body)?;
    for (index, der) in doc.x509_authorities.iter().enumerate() {
        if let Some(found) = foreign_id(der, trust_domain) {
            return Err(Refusal::ForeignAuthority {
                index,
                found,
                expected: trust_domain.to_string(),
            });
        }
    }
    if let (Some(got), Some(last)) = (doc.sequence, last_sequence)
        && got < last
    {
        return Err(Refusal::SequenceRegressed { got, last });
    }
    if let Some(p) = presented {
        let anchors = x509_chain::trust_anchors(doc.x509_authorities.iter().map(Vec::as_slice));
        let (leaf, intermediates) = p
            .chain
            .split_first()
            .ok_or(Refusal::EndpointNotCovered(EndpointSvidError::Malformed))?;
        verify_endpoint_svid(leaf, intermediates, &anchors, p.expected, p.now)
            .map_err(Refusal::EndpointNotCovered)?;
    }
    Ok(doc)
}

/// The SPIFFE ID of another trust domain `der` names in a URI SAN, if any.
fn foreign_id(der: &[u8], trust_domain: &TrustDomain) -> Option<String> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    let sans = uri_sans(&cert).ok()?;
    sans.into_iter()
        .filter_map(|uri| SpiffeId::parse(uri).ok())
        .find(|id| !id.is_member_of(trust_domain))
        .map(|id| id.to_string())
}

/// Whether `doc` holds other authorities (or another refresh hint) than `held`.
pub fn differs(doc: &BundleDocument, held: Option<&Bundle>) -> bool {
    let Some(held) = held else {
        return true;
    };
    let x509: Vec<&[u8]> = held
        .x509_authorities
        .iter()
        .map(|a| a.asn1.as_slice())
        .collect();
    let doc_x509: Vec<&[u8]> = doc.x509_authorities.iter().map(Vec::as_slice).collect();
    let jwt: Vec<(&str, &[u8])> = held
        .jwt_authorities
        .iter()
        .map(|a| (a.key_id.as_str(), a.public_key.as_slice()))
        .collect();
    let doc_jwt: Vec<(String, Vec<u8>)> = doc
        .jwt_authorities
        .iter()
        .map(|a| (a.kid.clone(), a.key.to_spki_der()))
        .collect();
    let doc_jwt: Vec<(&str, &[u8])> = doc_jwt
        .iter()
        .map(|(k, d)| (k.as_str(), d.as_slice()))
        .collect();
    let hint = doc
        .refresh_hint
        .and_then(|h| i64::try_from(h).ok())
        .unwrap_or(0);
    x509 != doc_x509 || jwt != doc_jwt || hint != held.refresh_hint_seconds
}

/// The store's sequence for a new bundle: the document's when it moves past the stored one,
/// else one past the stored one (`spiffe_sequence` is bumped on every change).
pub fn next_sequence(document: Option<u64>, stored: Option<u64>) -> u64 {
    match (document, stored) {
        (Some(given), Some(old)) if given > old => given,
        (_, Some(old)) => old.saturating_add(1),
        (Some(given), None) => given,
        (None, None) => 1,
    }
}

#[cfg(test)]
#[path = "accept_tests.rs"]
mod tests;
