//! Path validation of SVID chains against a bundle's X.509 authorities.

use std::time::SystemTime;

use rustls::pki_types::TrustAnchor;
use rustls::pki_types::{CertificateDer, UnixTime};
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_proto::x509_chain::{self, ChainError};
use webpki::KeyUsage;

use super::{SvidWithKey, X509Error};

/// The bundle's X.509 authorities as trust anchors (unparsable ones are skipped).
pub fn trust_anchors(bundle: &Bundle) -> Vec<TrustAnchor<'static>> {
    x509_chain::trust_anchors(bundle.x509_authorities.iter().map(|a| a.asn1.as_slice()))
}

/// `now` as webpki time.
pub(crate) fn unix_time(now: SystemTime) -> UnixTime {
    x509_chain::unix_time(now)
}

/// Verifies `chain` (leaf first) up to one of `anchors` at `now` for `usage`.
pub(crate) fn verify_chain(
    chain: &[Vec<u8>],
    anchors: &[TrustAnchor<'_>],
    now: SystemTime,
    usage: KeyUsage,
) -> Result<(), X509Error> {
    let (leaf, rest) = chain.split_first().ok_or(X509Error::EmptyChain)?;
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    verify_der_for_tls(&leaf, &intermediates, anchors, unix_time(now), usage)
}

/// Verifies a DER leaf and intermediates up to one of `anchors`.
pub(crate) fn verify_der_for_tls(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    now: UnixTime,
    usage: KeyUsage,
) -> Result<(), X509Error> {
    // The one verifier and algorithm allowlist, shared with the server.
    x509_chain::verify(leaf, intermediates, anchors, now, usage).map_err(|e| match e {
        ChainError::MalformedLeaf(e) => X509Error::Malformed(e.to_string()),
        other => X509Error::Untrusted(other.to_string()),
    })
}

/// Verifies `svid` (read by [`SvidWithKey::from_parts`]) up to `anchors` at `now` as a TLS
/// client certificate, and that it names `expected_id`: [`verify_svid_chain`] with the
/// anchors parsed once for many SVIDs.
pub fn verify_svid(
    svid: &SvidWithKey,
    anchors: &[TrustAnchor<'_>],
    expected_id: &str,
    now: SystemTime,
) -> Result<(), X509Error> {
    verify_chain(&svid.cert_chain, anchors, now, KeyUsage::client_auth())?;
    if svid.spiffe_id != expected_id {
        return Err(X509Error::Mismatch(format!(
            "SVID names {}, expected {expected_id}",
            svid.spiffe_id
        )));
    }
    Ok(())
}

/// Verifies an SVID chain against the bundle (as a TLS client certificate, which is how it
/// is used) and that its leaf names `expected_id`.
pub fn verify_svid_chain(
    chain: &[Vec<u8>],
    bundle: &Bundle,
    expected_id: &str,
    now: SystemTime,
) -> Result<(), X509Error> {
    verify_chain(chain, &trust_anchors(bundle), now, KeyUsage::client_auth())?;
    let leaf = chain.first().ok_or(X509Error::EmptyChain)?;
    let facts = super::LeafFacts::parse(leaf)?;
    let id = facts.spiffe_id()?;
    if id != expected_id {
        return Err(X509Error::Mismatch(format!(
            "SVID names {id}, expected {expected_id}"
        )));
    }
    Ok(())
}
