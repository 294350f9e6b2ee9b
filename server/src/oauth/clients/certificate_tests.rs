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
    verify_client_certificate(
        &[leaf],
        Some(&id(registered)),
        None,
        None,
        &w.bundles,
        now(),
    )
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
        verify_client_certificate(&[], Some(&id(ME)), None, None, &w.bundles, now()),
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
            None,
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
        None,
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
            None,
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
        verify_client_certificate(&[leaf], None, None, None, &w.bundles, now()),
        Err(CertificateError::NothingRegistered)
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let w = world();
    let leaf = w.own.leaf(&[ME], "billing", true);
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    assert!(matches!(
        verify_client_certificate(&[leaf], Some(&id(ME)), None, None, &w.bundles, later),
        Err(CertificateError::Untrusted(_))
    ));
}

fn td(s: &str) -> TrustDomain {
    TrustDomain::new(s).unwrap()
}

/// A DN client naming a federated trust domain (`tls_trust_domain`) is vouched for by that
/// trust domain's CA, and only by it.
#[test]
fn a_dn_client_naming_a_federated_trust_domain_is_vouched_for_by_its_ca_only() {
    let own = Ca::new("example.org");
    let partner = Ca::new("partner.org");
    let other = Ca::new("other.org");
    let bundles = vec![
        bundle("example.org", None, &[&own]),
        bundle("partner.org", None, &[&partner]),
        bundle("other.org", None, &[&other]),
    ];
    let dn = "CN=payments,O=Example";
    let check = |cert: &CertificateDer<'static>, named: Option<&TrustDomain>| {
        verify_client_certificate(
            std::slice::from_ref(cert),
            None,
            Some(dn),
            named,
            &bundles,
            now(),
        )
    };
    let theirs = partner.leaf(&[], "payments", true);
    let partner_org = td("partner.org");
    assert_eq!(
        check(&theirs, Some(&partner_org)),
        Ok(certificate_thumbprint(theirs.as_ref()))
    );
    // Without the field: the own trust domain only (the existing behaviour).
    let untrusted = Err(CertificateError::Untrusted(
        "certificate chain does not verify: UnknownIssuer".into(),
    ));
    assert_eq!(check(&theirs, None), untrusted);
    // Naming another federated trust domain: its CA did not issue this certificate.
    assert_eq!(check(&theirs, Some(&td("other.org"))), untrusted);
    // A trust domain without a bundle (not, or no longer, federated) vouches for nothing.
    assert_eq!(
        check(&theirs, Some(&td("gone.org"))),
        Err(CertificateError::Untrusted(
            "no X.509 authority for this client".into()
        ))
    );
    // Naming a federated trust domain takes the own CA out for this client.
    let ours = own.leaf(&[], "payments", true);
    assert!(check(&ours, None).is_ok());
    assert_eq!(check(&ours, Some(&partner_org)), untrusted);
    assert!(check(&ours, Some(&td("example.org"))).is_ok());
    // The field changes nothing for a SPIFFE-ID match.
    let svid = partner.leaf(&["spiffe://partner.org/pay"], "x", true);
    let by_spiffe_id = verify_client_certificate(
        std::slice::from_ref(&svid),
        Some(&id("spiffe://partner.org/pay")),
        Some(dn),
        Some(&td("other.org")),
        &bundles,
        now(),
    );
    assert_eq!(by_spiffe_id, Ok(certificate_thumbprint(svid.as_ref())));
}
