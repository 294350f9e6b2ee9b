//! `tls_client_auth` chain verification and matching.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use aws_lc_rs::digest::{SHA256, digest};

use super::super::test_support::{Ca, bundle};
use super::*;

const ME: &str = "spiffe://example.org/billing";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn id(s: &str) -> SpiffeId {
    SpiffeId::parse(s).unwrap()
}

struct World {
    own: Ca,
    partner: Ca,
    bundles: Vec<Bundle>,
}

fn world() -> World {
    let own = Ca::new("example.org");
    let partner = Ca::new("partner.test");
    let bundles = vec![
        bundle("example.org", None, &[&own]),
        bundle("partner.test", None, &[&partner]),
    ];
    World {
        own,
        partner,
        bundles,
    }
}

fn by_id(
    w: &World,
    leaf: CertificateDer<'static>,
    registered: &str,
) -> Result<String, CertificateError> {
    verify_client_certificate(&[leaf], Some(&id(registered)), None, &w.bundles, now())
}

#[test]
fn an_svid_chained_to_the_bundle_matches_by_spiffe_id_and_gives_its_thumbprint() {
    let w = world();
    let leaf = w.own.leaf(&[ME], "billing", true);
    let thumbprint = by_id(&w, leaf.clone(), ME).unwrap();
    let expected = URL_SAFE_NO_PAD.encode(digest(&SHA256, leaf.as_ref()).as_ref());
    assert_eq!(thumbprint, expected);
    assert_eq!(thumbprint.len(), 43);
    assert_eq!(certificate_thumbprint(leaf.as_ref()), expected);
}

#[test]
fn a_chain_not_leading_to_the_bundle_is_refused() {
    let w = world();
    let rogue = Ca::new("example.org");
    let leaf = rogue.leaf(&[ME], "billing", true);
    assert!(matches!(
        by_id(&w, leaf, ME),
        Err(CertificateError::Untrusted(_))
    ));
    assert!(matches!(
        verify_client_certificate(&[], Some(&id(ME)), None, &w.bundles, now()),
        Err(CertificateError::Missing)
    ));
}

#[test]
fn a_federated_ca_cannot_vouch_for_an_id_of_another_trust_domain() {
    let w = world();
    let spoof = w.partner.leaf(&[ME], "billing", true);
    assert!(matches!(
        by_id(&w, spoof, ME),
        Err(CertificateError::Untrusted(_))
    ));
    // Its own trust domain's IDs it can.
    let theirs = "spiffe://partner.test/reports";
    assert!(by_id(&w, w.partner.leaf(&[theirs], "r", true), theirs).is_ok());
}

#[test]
fn a_spiffe_id_mismatch_is_refused() {
    let w = world();
    let other = w.own.leaf(&["spiffe://example.org/other"], "billing", true);
    assert_eq!(by_id(&w, other, ME), Err(CertificateError::UriSanMismatch));
    let two = w
        .own
        .leaf(&[ME, "spiffe://example.org/other"], "billing", true);
    assert_eq!(
        by_id(&w, two, ME),
        Err(CertificateError::UriSanMismatch),
        "an SVID has exactly one URI SAN"
    );
}

/// A client registered with a SPIFFE ID and a subject DN: a certificate with the right DN
/// but another URI SAN is refused, not accepted through the DN.
#[test]
fn a_different_uri_san_does_not_fall_through_to_the_subject_dn() {
    let w = world();
    let other = w
        .own
        .leaf(&["spiffe://example.org/other"], "payments", true);
    let both = |cert: CertificateDer<'static>| {
        verify_client_certificate(
            &[cert],
            Some(&id(ME)),
            Some("CN=payments,O=Example"),
            &w.bundles,
            now(),
        )
    };
    assert_eq!(both(other), Err(CertificateError::UriSanMismatch));
    // Without URI SANs the DN still identifies it.
    assert!(both(w.own.leaf(&[], "payments", true)).is_ok());
    assert!(both(w.own.leaf(&[ME], "whatever", true)).is_ok());
}

/// A subject DN names no trust domain: only the own trust domain's CA may vouch for it.
#[test]
fn a_federated_ca_cannot_vouch_for_a_subject_dn() {
    let w = world();
    let theirs = w.partner.leaf(&[], "payments", true);
    let err = verify_client_certificate(
        &[theirs],
        None,
        Some("CN=payments,O=Example"),
        &w.bundles,
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, CertificateError::Untrusted(_)), "{err}");
}

#[test]
fn a_certificate_without_client_auth_usage_is_refused() {
    let w = world();
    let server_only = w.own.leaf(&[ME], "billing", false);
    assert!(matches!(
        by_id(&w, server_only, ME),
        Err(CertificateError::Untrusted(_))
    ));
}

#[test]
fn the_subject_dn_matches_in_rfc4514_form() {
    let w = world();
    let leaf = w.own.leaf(&[], "payments", true);
    let check = |dn: &str, cert: &CertificateDer<'static>| {
        verify_client_certificate(
            std::slice::from_ref(cert),
            None,
            Some(dn),
            &w.bundles,
            now(),
        )
    };
    assert!(check("CN=payments,O=Example", &leaf).is_ok());
    assert!(check("cn=payments, o=Example", &leaf).is_ok());
    assert_eq!(
        check("CN=other,O=Example", &leaf),
        Err(CertificateError::Mismatch)
    );
    assert_eq!(
        check("O=Example,CN=payments", &leaf),
        Err(CertificateError::Mismatch),
        "RDN order is significant"
    );
    let rogue = Ca::new("example.org").leaf(&[], "payments", true);
    assert!(matches!(
        check("CN=payments,O=Example", &rogue),
        Err(CertificateError::Untrusted(_))
    ));
    assert_eq!(
        verify_client_certificate(&[leaf], None, None, &w.bundles, now()),
        Err(CertificateError::NothingRegistered)
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let w = world();
    let leaf = w.own.leaf(&[ME], "billing", true);
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    assert!(matches!(
        verify_client_certificate(&[leaf], Some(&id(ME)), None, &w.bundles, later),
        Err(CertificateError::Untrusted(_))
    ));
}
