//! The verification rules of fetched bundles, with certificates made here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;
use tessera_proto::bundle::BundleDocument;
use tessera_proto::identity::{SpiffeId, TrustDomain};

use super::*;

/// A CA of `td` (URI SAN `spiffe://td` unless `uri` is false).
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl Ca {
    fn new(td: &str, uri: bool) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        if uri {
            params.subject_alt_names =
                vec![SanType::URI(format!("spiffe://{td}").try_into().unwrap())];
        }
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Self { params, key, der }
    }

    /// A server X.509-SVID for `id`.
    fn svid(&self, id: &str) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::URI(id.try_into().unwrap())];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        CertificateDer::from(params.signed_by(&key, &issuer).unwrap().der().to_vec())
    }
}

fn td(name: &str) -> TrustDomain {
    TrustDomain::new(name).unwrap()
}

fn doc_of(td_name: &str, cas: &[&Ca], sequence: Option<u64>) -> Vec<u8> {
    let mut doc = BundleDocument::new(td(td_name));
    doc.sequence = sequence;
    doc.x509_authorities = cas.iter().map(|c| c.der.clone()).collect();
    doc.to_json().unwrap().into_bytes()
}

fn now() -> rustls::pki_types::UnixTime {
    x509_chain::unix_time(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

#[test]
fn a_good_bundle_is_accepted() {
    let b = Ca::new("b.example", true);
    let doc = accept(
        &td("b.example"),
        &doc_of("b.example", &[&b], Some(3)),
        Some(2),
        None,
    )
    .unwrap();
    assert_eq!(doc.x509_authorities, vec![b.der.clone()]);
    // Equal sequence is fine (nothing changed, or a replica behind a load balancer).
    accept(
        &td("b.example"),
        &doc_of("b.example", &[&b], Some(3)),
        Some(3),
        None,
    )
    .unwrap();
    // A CA without a URI SAN (e.g. an upstream CA) is not foreign.
    let plain = Ca::new("b.example", false);
    accept(
        &td("b.example"),
        &doc_of("b.example", &[&plain], None),
        None,
        None,
    )
    .unwrap();
}

#[test]
fn keys_that_do_not_parse_are_refused() {
    let err = accept(
        &td("b.example"),
        br#"{"keys":[{"use":"x509-svid","kty":"EC"}]}"#,
        None,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Refusal::Document(_)), "{err}");
    let err = accept(&td("b.example"), b"<html>", None, None).unwrap_err();
    assert!(matches!(err, Refusal::Document(_)), "{err}");
}

#[test]
fn a_bundle_of_another_trust_domain_is_refused() {
    let c = Ca::new("c.example", true);
    let err = accept(
        &td("b.example"),
        &doc_of("c.example", &[&c], Some(9)),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Refusal::ForeignAuthority {
            index: 0,
            found: "spiffe://c.example".into(),
            expected: "b.example".into()
        }
    );
}

#[test]
fn a_sequence_going_backwards_is_refused() {
    let b = Ca::new("b.example", true);
    let err = accept(
        &td("b.example"),
        &doc_of("b.example", &[&b], Some(4)),
        Some(5),
        None,
    )
    .unwrap_err();
    assert_eq!(err, Refusal::SequenceRegressed { got: 4, last: 5 });
}

#[test]
fn https_spiffe_the_bundle_must_verify_the_endpoint_itself() {
    let b = Ca::new("b.example", true);
    let rogue = Ca::new("b.example", false);
    let expected = SpiffeId::parse("spiffe://b.example/tessera/server").unwrap();
    let chain = [b.svid("spiffe://b.example/tessera/server")];
    let presented = PresentedSvid {
        chain: &chain,
        expected: &expected,
        now: now(),
    };
    accept(
        &td("b.example"),
        &doc_of("b.example", &[&b], Some(1)),
        None,
        Some(&presented),
    )
    .unwrap();
    // The endpoint serves a bundle that would not verify its own SVID.
    let err = accept(
        &td("b.example"),
        &doc_of("b.example", &[&rogue], Some(2)),
        None,
        Some(&presented),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Refusal::EndpointNotCovered(EndpointSvidError::Chain(_))
        ),
        "{err}"
    );
}

#[test]
fn the_endpoint_svid_must_chain_to_the_held_bundle_and_name_the_configured_id() {
    let b = Ca::new("b.example", true);
    let rogue = Ca::new("b.example", true);
    let held = x509_chain::trust_anchors([b.der.as_slice()]);
    let expected = SpiffeId::parse("spiffe://b.example/tessera/server").unwrap();
    let good = b.svid("spiffe://b.example/tessera/server");
    verify_endpoint_svid(&good, &[], &held, &expected, now()).unwrap();

    let forged = rogue.svid("spiffe://b.example/tessera/server");
    let err = verify_endpoint_svid(&forged, &[], &held, &expected, now()).unwrap_err();
    assert!(matches!(err, EndpointSvidError::Chain(_)), "{err}");

    let other = b.svid("spiffe://b.example/workload");
    let err = verify_endpoint_svid(&other, &[], &held, &expected, now()).unwrap_err();
    assert_eq!(
        err,
        EndpointSvidError::WrongId {
            found: "spiffe://b.example/workload".into(),
            expected: "spiffe://b.example/tessera/server".into()
        }
    );
    let err = verify_endpoint_svid(&good, &[], &[], &expected, now()).unwrap_err();
    assert!(matches!(err, EndpointSvidError::Chain(_)), "{err}");
}

#[test]
fn only_a_change_is_written_with_a_bumped_sequence() {
    let b = Ca::new("b.example", true);
    let doc = BundleDocument::parse(td("b.example"), &doc_of("b.example", &[&b], Some(7))).unwrap();
    assert!(differs(&doc, None));
    let held = doc.to_wire(7);
    assert!(!differs(&doc, Some(&held)));
    let other = Ca::new("b.example", true);
    let doc2 = BundleDocument::parse(
        td("b.example"),
        &doc_of("b.example", &[&b, &other], Some(8)),
    )
    .unwrap();
    assert!(differs(&doc2, Some(&held)));

    assert_eq!(next_sequence(Some(8), Some(7)), 8);
    assert_eq!(next_sequence(Some(3), Some(7)), 8);
    assert_eq!(next_sequence(None, Some(7)), 8);
    assert_eq!(next_sequence(Some(5), None), 5);
    assert_eq!(next_sequence(None, None), 1);
}
