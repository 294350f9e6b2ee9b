//! X.509 path validation: the one verifier the server (`tls_client_auth`) and the agent
//! (SVIDs, the server's certificate) use, with one signature-algorithm allowlist — the
//! algorithms Tessera's CAs sign with (ECDSA P-256/SHA-256, P-384/SHA-384, RSA PKCS#1 and
//! PSS 2048–8192 bits with SHA-256/384/512), all through aws-lc-rs.

use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
pub use webpki::KeyUsage;
use webpki::aws_lc_rs as algs;

/// The signature algorithms a chain may use.
pub static ALLOWED_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA256,
    algs::RSA_PKCS1_2048_8192_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA512,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Why a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No certificate at all.
    #[error("empty certificate chain")]
    Empty,
    /// No usable trust anchor to verify against.
    #[error("no X.509 authority to verify against")]
    NoAnchors,
    /// The leaf does not parse as an end-entity certificate.
    #[error("malformed leaf certificate: {0}")]
    MalformedLeaf(webpki::Error),
    /// Path validation failed (unknown issuer, expired, wrong usage, algorithm not allowed…).
    #[error("certificate chain does not verify: {0}")]
    Untrusted(webpki::Error),
}

/// DER certificates as trust anchors (unparsable ones are skipped).
pub fn trust_anchors<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> Vec<TrustAnchor<'static>> {
    ders.into_iter()
        .filter_map(|der| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der))
                .ok()
                .map(|t| t.to_owned())
        })
        .collect()
}

/// `now` as webpki time (before 1970 reads as the epoch).
pub fn unix_time(now: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// Verifies `leaf` with `intermediates` up to one of `anchors` at `now` for `usage`.
pub fn verify(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    now: UnixTime,
    usage: KeyUsage,
) -> Result<(), ChainError> {
    if anchors.is_empty() {
        return Err(ChainError::NoAnchors);
    }
    let cert = webpki::EndEntityCert::try_from(leaf).map_err(ChainError::MalformedLeaf)?;
    cert.verify_for_usage(
        ALLOWED_ALGORITHMS,
        anchors,
        intermediates,
        now,
        usage,
        None,
        None,
    )
    .map(|_| ())
    .map_err(ChainError::Untrusted)
}

/// [`verify`] for a chain of DER certificates, leaf first.
pub fn verify_chain(
    chain: &[&[u8]],
    anchors: &[TrustAnchor<'_>],
    now: SystemTime,
    usage: KeyUsage,
) -> Result<(), ChainError> {
    let (leaf, rest) = chain.split_first().ok_or(ChainError::Empty)?;
    let intermediates: Vec<CertificateDer<'_>> =
        rest.iter().map(|c| CertificateDer::from(*c)).collect();
    verify(
        &CertificateDer::from(*leaf),
        &intermediates,
        anchors,
        unix_time(now),
        usage,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    struct Issued {
        ca: Vec<u8>,
        leaf: Vec<u8>,
    }

    fn issue(alg: &'static rcgen::SignatureAlgorithm) -> Issued {
        let ca_key = rcgen::KeyPair::generate_for(alg).unwrap();
        let mut ca_params = rcgen::CertificateParams::default();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut leaf_params = rcgen::CertificateParams::default();
        leaf_params.subject_alt_names = vec![rcgen::SanType::URI(
            "spiffe://example.org/w".try_into().unwrap(),
        )];
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        Issued {
            ca: ca.der().to_vec(),
            leaf: leaf.der().to_vec(),
        }
    }

    #[test]
    fn a_chain_to_the_anchor_verifies_and_another_anchor_does_not() {
        let a = issue(&rcgen::PKCS_ECDSA_P256_SHA256);
        let b = issue(&rcgen::PKCS_ECDSA_P384_SHA384);
        let now = SystemTime::now();
        let anchors = trust_anchors([a.ca.as_slice()]);
        verify_chain(&[&a.leaf], &anchors, now, KeyUsage::client_auth()).unwrap();
        assert!(matches!(
            verify_chain(&[&b.leaf], &anchors, now, KeyUsage::client_auth()),
            Err(ChainError::Untrusted(_))
        ));
        assert_eq!(
            verify_chain(&[], &anchors, now, KeyUsage::client_auth()),
            Err(ChainError::Empty)
        );
        assert_eq!(
            verify_chain(&[&a.leaf], &[], now, KeyUsage::client_auth()),
            Err(ChainError::NoAnchors)
        );
        verify_chain(
            &[&b.leaf],
            &trust_anchors([b.ca.as_slice()]),
            now,
            KeyUsage::client_auth(),
        )
        .unwrap();
    }

    #[test]
    fn an_algorithm_outside_the_allowlist_is_refused() {
        let ed = issue(&rcgen::PKCS_ED25519);
        let err = verify_chain(
            &[&ed.leaf],
            &trust_anchors([ed.ca.as_slice()]),
            SystemTime::now(),
            KeyUsage::client_auth(),
        )
        .unwrap_err();
        assert!(matches!(err, ChainError::Untrusted(_)), "{err}");
    }
}
