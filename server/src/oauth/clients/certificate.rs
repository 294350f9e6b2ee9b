//! `tls_client_auth` (RFC 8705 §2.1): the TLS client certificate chain, whose key the
//! handshake proved, is verified here against the trust bundles and matched to the client.
//!
//! - Registered `spiffe_id`: the leaf has exactly one URI SAN (an X.509-SVID) and it equals
//!   the registered ID; the chain must lead to an X.509 authority **of that ID's trust
//!   domain** (a federated trust domain's CA cannot vouch for another trust domain's IDs).
//! - Registered `tls_subject_dn`: the leaf's subject in RFC 4514 form (see [`super::dn`])
//!   matches, and the chain leads to an X.509 authority of the **own** trust domain (a
//!   subject DN names no trust domain, so a federated CA could issue any DN), or, when the
//!   client names a `tls_trust_domain`, of **that** trust domain only (a partner whose CA
//!   issues no SVIDs; no other federated CA can vouch for the DN).
//! - A client registered with both: a leaf carrying URI SANs must match by SPIFFE ID; a
//!   present but different URI SAN is refused, never retried as a DN match.
//!
//! The chain is checked with rustls-webpki at `now` for the client-authentication EKU
//! (required when the leaf lists EKUs). Success yields the certificate thumbprint that
//! binds issued tokens (`cnf.x5t#S256`, RFC 8705 §3.1).

use std::time::SystemTime;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::CertificateDer;
use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::jwt_svid::bundle_trust_domain;
use tessera_proto::wire::tessera::types::v1::Bundle;
use tessera_proto::x509_chain;
use tessera_proto::x509_san::uri_sans;
use x509_parser::prelude::{FromDer as _, X509Certificate};

use super::dn::{dn_matches, rfc4514};

/// Why a client certificate was refused. Answered `invalid_client`; messages never contain
/// certificate bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The connection carried no client certificate.
    #[error("no TLS client certificate was presented")]
    Missing,
    /// The leaf is not a parsable X.509 certificate.
    #[error("the client certificate does not parse")]
    Unparsable,
    /// The client has neither a SPIFFE ID nor a subject DN registered.
    #[error("the client has no certificate identity registered")]
    NothingRegistered,
    /// The leaf names neither the registered SPIFFE ID nor the registered subject DN.
    #[error("the client certificate is not the client's (SPIFFE ID / subject DN mismatch)")]
    Mismatch,
    /// The client has a SPIFFE ID registered and the leaf carries URI SANs that are not
    /// exactly that ID (no fall-back to the subject DN).
    #[error("the client certificate's URI SAN is not the client's SPIFFE ID")]
    UriSanMismatch,
    /// The chain does not lead to a trusted authority at `now` (or is not for client auth).
    #[error("the client certificate chain is not trusted: {0}")]
    Untrusted(String),
}

/// `base64url(SHA-256(DER))`: the `x5t#S256` of a certificate.
pub fn certificate_thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, der).as_ref())
}

/// Verifies `chain` (leaf first) for a client registered with `spiffe_id` and/or
/// `subject_dn`, against `bundles` at `now`; returns the leaf's thumbprint. `bundles` is
/// the own bundle first, then the federated ones (the `TrustBundles` order): a subject-DN
/// match is only trusted through the bundle of `dn_trust_domain` when the client names
/// one, else through the first.
pub fn verify_client_certificate(
    chain: &[CertificateDer<'_>],
    spiffe_id: Option<&SpiffeId>,
    subject_dn: Option<&str>,
    dn_trust_domain: Option<&TrustDomain>,
    bundles: &[Bundle],
    now: SystemTime,
) -> Result<String, CertificateError> {
    let leaf = chain.first().ok_or(CertificateError::Missing)?;
    if spiffe_id.is_none() && subject_dn.is_none() {
        return Err(CertificateError::NothingRegistered);
    }
    let (_, parsed) =
        X509Certificate::from_der(leaf.as_ref()).map_err(|_| CertificateError::Unparsable)?;
    // A repeated or malformed subjectAltName is refused, never read as "no URI SAN".
    let sans = uri_sans(&parsed).map_err(|_| CertificateError::Unparsable)?;
    let anchors_for: Vec<&Bundle> = match spiffe_id {
        Some(id) if sans == [id.as_str()] => bundles
            .iter()
            .filter(|b| bundle_trust_domain(b).as_ref() == Some(id.trust_domain()))
            .collect(),
        Some(_) if !sans.is_empty() => return Err(CertificateError::UriSanMismatch),
        _ => match (subject_dn, rfc4514(parsed.subject())) {
            (Some(registered), Some(subject)) if dn_matches(&subject, registered) => {
                match dn_trust_domain {
                    Some(td) => bundles
                        .iter()
                        .filter(|b| bundle_trust_domain(b).as_ref() == Some(td))
                        .collect(),
                    None => bundles.iter().take(1).collect(),
                }
            }
            _ => return Err(CertificateError::Mismatch),
        },
    };
    verify_chain(chain, &anchors_for, now)?;
    Ok(certificate_thumbprint(leaf.as_ref()))
}

/// Checks the chain against the X.509 authorities of `bundles` with the one verifier
/// ([`tessera_proto::x509_chain`], shared with the agent) for client authentication.
fn verify_chain(
    chain: &[CertificateDer<'_>],
    bundles: &[&Bundle],
    now: SystemTime,
) -> Result<(), CertificateError> {
    let anchors = x509_chain::trust_anchors(
        bundles
            .iter()
            .flat_map(|b| b.x509_authorities.iter())
            .map(|a| a.asn1.as_slice()),
    );
    if anchors.is_empty() {
        return Err(CertificateError::Untrusted(
            "no X.509 authority for this client".into(),
        ));
    }
    let (leaf, intermediates) = chain.split_first().ok_or(CertificateError::Missing)?;
    x509_chain::verify(
        leaf,
        intermediates,
        &anchors,
        x509_chain::unix_time(now),
        x509_chain::KeyUsage::client_auth(),
    )
    .map_err(|e| CertificateError::Untrusted(e.to_string()))
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
