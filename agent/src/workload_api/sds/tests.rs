//! The SDS catalog and the xDS session as pure functions, then the service on a real socket
//! (the Workload API's test harness) with Envoy's generated client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::SystemTime;

use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret, SpiffeCertValidatorConfig, secret,
};
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use prost::Message;

use super::super::identity::caller_identities;
use super::super::tests::support::{TD, cached, entry, state};
use super::catalog::{Catalog, SPIFFE_VALIDATOR};
use super::error::SdsError;
use super::session::{Session, secret_type_url};
use crate::config::SdsSection;
use crate::manager::AgentState;
use crate::testing::TestCa;
use tessera_proto::identity::Selector;

mod socket;

const ME: &str = "unix:uid:1000";
const OTHER: &str = "unix:uid:2000";

/// Our CA, a partner's CA, and a state where uid 1000 holds `a` (oldest, federating with
/// partner.org) and `b`, uid 2000 holds `c`.
pub(super) struct World {
    pub ca: TestCa,
    pub partner: TestCa,
    pub now: SystemTime,
}

impl World {
    pub fn new() -> Self {
        let now = SystemTime::now();
        Self {
            ca: TestCa::new(TD, now),
            partner: TestCa::new("partner.org", now),
            now,
        }
    }

    /// A state with fresh SVIDs (every call issues new ones: a rotation).
    pub fn state(&self) -> AgentState {
        let mut a = entry("e1", "a", &[ME], 1);
        a.federates_with = vec!["partner.org".into()];
        let b = entry("e2", "b", &[ME], 2);
        let c = entry("e3", "c", &[OTHER], 3);
        let mut s = state(
            &self.ca,
            &[],
            vec![
                cached(&self.ca, a, self.now),
                cached(&self.ca, b, self.now),
                cached(&self.ca, c, self.now),
            ],
        );
        s.federated_bundles = vec![self.partner.bundle()];
        s
    }
}

fn catalog_for(state: &AgentState, selector: &str, names: &SdsSection) -> Catalog {
    let selectors = [Selector::parse(selector).unwrap()];
    let ids = caller_identities(state, &selectors, SystemTime::now());
    Catalog::build(state, &ids, names)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

pub(super) fn decode(response: &DiscoveryResponse) -> Vec<Secret> {
    assert_eq!(response.type_url, secret_type_url());
    response
        .resources
        .iter()
        .map(|any| {
            assert_eq!(any.type_url, secret_type_url());
            Secret::decode(any.value.as_slice()).unwrap()
        })
        .collect()
}

pub(super) fn inline(
    source: Option<&envoy_types::pb::envoy::config::core::v3::DataSource>,
) -> Vec<u8> {
    match source.and_then(|s| s.specifier.clone()) {
        Some(Specifier::InlineBytes(b)) => b,
        other => panic!("not inline bytes: {other:?}"),
    }
}

fn validation(secret: &Secret) -> &CertificateValidationContext {
    match &secret.r#type {
        Some(secret::Type::ValidationContext(v)) => v,
        other => panic!("{} is not a validation context: {other:?}", secret.name),
    }
}

/// The trust domains and PEM bundles of a SPIFFE validator context.
pub(super) fn spiffe_domains(secret: &Secret) -> Vec<(String, Vec<u8>)> {
    let v = validation(secret);
    assert!(v.trusted_ca.is_none());
    let custom = v.custom_validator_config.as_ref().unwrap();
    assert_eq!(custom.name, SPIFFE_VALIDATOR);
    let any = custom.typed_config.as_ref().unwrap();
    assert_eq!(
        any.type_url,
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig"
    );
    SpiffeCertValidatorConfig::decode(any.value.as_slice())
        .unwrap()
        .trust_domains
        .into_iter()
        .map(|td| (td.name, inline(td.trust_bundle.as_ref())))
        .collect()
}

fn pem_of(der: &[u8]) -> Vec<u8> {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec())).into_bytes()
}

/// The SPIFFE ID in the leaf of a TLS certificate secret, and whether its key is PKCS#8 PEM.
pub(super) fn certificate_id(secret: &Secret) -> String {
    let Some(secret::Type::TlsCertificate(cert)) = &secret.r#type else {
        panic!("{} is not a TLS certificate", secret.name);
    };
    let key = inline(cert.private_key.as_ref());
    assert!(pem::parse(&key).unwrap().tag() == "PRIVATE KEY");
    let chain = pem::parse_many(inline(cert.certificate_chain.as_ref())).unwrap();
    crate::x509::LeafFacts::parse(chain[0].contents())
        .unwrap()
        .spiffe_id()
        .unwrap()
        .to_owned()
}

#[test]
fn the_catalog_names_resources_as_spire_does() {
    let w = World::new();
    let s = w.state();
    let catalog = catalog_for(&s, ME, &SdsSection::default());
    let all = catalog.select(&[]).unwrap();
    let got: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        got,
        [
            "spiffe://example.org",
            "spiffe://partner.org",
            "spiffe://example.org/a",
            "spiffe://example.org/b"
        ],
        "an empty subscription: every bundle and SVID by SPIFFE ID, no aliases"
    );
    let picked = catalog
        .select(&names(&[
            "ALL",
            "ROOTCA",
            "default",
            "spiffe://example.org/b",
        ]))
        .unwrap();
    assert_eq!(
        certificate_id(&picked[2]),
        "spiffe://example.org/a",
        "default = oldest"
    );
    assert_eq!(certificate_id(&picked[3]), "spiffe://example.org/b");
    assert_eq!(
        spiffe_domains(&picked[1]),
        [("example.org".to_string(), pem_of(&w.ca.cert_der))]
    );
    assert_eq!(
        spiffe_domains(&picked[0]),
        [
            ("example.org".to_string(), pem_of(&w.ca.cert_der)),
            ("partner.org".to_string(), pem_of(&w.partner.cert_der)),
        ],
        "ALL: one trust bundle per trust domain the caller trusts"
    );
    let partner = catalog.select(&names(&["spiffe://partner.org"])).unwrap();
    assert_eq!(spiffe_domains(&partner[0])[0].0, "partner.org");
}

#[test]
fn names_are_configurable_and_plain_contexts_are_a_switch() {
    let w = World::new();
    let s = w.state();
    let config = SdsSection {
        default_svid_name: "mine".into(),
        default_bundle_name: "ca".into(),
        default_all_bundles_name: "every".into(),
        disable_spiffe_cert_validation: true,
    };
    let catalog = catalog_for(&s, ME, &config);
    assert!(matches!(
        catalog.select(&names(&["default"])),
        Err(SdsError::NotEntitled { .. })
    ));
    let picked = catalog.select(&names(&["ca", "every", "mine"])).unwrap();
    assert_eq!(certificate_id(&picked[2]), "spiffe://example.org/a");
    let ca = validation(&picked[0]);
    assert!(ca.custom_validator_config.is_none());
    assert_eq!(inline(ca.trusted_ca.as_ref()), pem_of(&w.ca.cert_der));
    let every = validation(&picked[1]);
    assert_eq!(
        inline(every.trusted_ca.as_ref()),
        [pem_of(&w.ca.cert_der), pem_of(&w.partner.cert_der)].concat()
    );
}

#[test]
fn a_caller_gets_nothing_it_is_not_entitled_to() {
    let w = World::new();
    let s = w.state();
    let catalog = catalog_for(&s, OTHER, &SdsSection::default());
    // uid 2000 holds only `c`, which federates with nobody.
    let got = catalog.select(&[]).unwrap();
    let got: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(got, ["spiffe://example.org", "spiffe://example.org/c"]);
    let err = catalog
        .select(&names(&[
            "default",
            "spiffe://example.org/a",
            "spiffe://partner.org",
        ]))
        .unwrap_err();
    let SdsError::NotEntitled { names: refused } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(refused, &["spiffe://example.org/a", "spiffe://partner.org"]);
    assert_eq!(err.into_status().code(), tonic::Code::InvalidArgument);
    // The ALL context of uid 2000 holds only its own trust domain.
    let all = catalog.select(&names(&["ALL"])).unwrap();
    assert_eq!(spiffe_domains(&all[0]).len(), 1);
}

fn request(names_: &[&str], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: version.into(),
        resource_names: names(names_),
        type_url: secret_type_url(),
        response_nonce: nonce.into(),
        ..Default::default()
    }
}

fn nack(names_: &[&str], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        error_detail: Some(RpcStatus {
            code: 3,
            message: "rejected by the test".into(),
            ..Default::default()
        }),
        ..request(names_, version, nonce)
    }
}

#[test]
fn the_session_follows_the_xds_rules() {
    let w = World::new();
    let config = SdsSection::default();
    let first = catalog_for(&w.state(), ME, &config);
    let mut session = Session::new(7);
    assert!(
        session.on_update(&first).unwrap().is_none(),
        "nothing asked yet"
    );

    let r1 = session
        .on_request(&request(&["default", "ROOTCA"], "", ""), &first)
        .unwrap()
        .unwrap();
    assert_eq!(r1.version_info, "1");
    assert!(!r1.nonce.is_empty());
    assert_eq!(decode(&r1).len(), 2);
    // ACK: nothing to say; the same state again: nothing to push.
    assert!(
        session
            .on_request(&request(&["ROOTCA", "default"], "1", &r1.nonce), &first)
            .unwrap()
            .is_none()
    );
    assert!(session.on_update(&first).unwrap().is_none());

    // A rotation: pushed with a new version and nonce.
    let rotated = catalog_for(&w.state(), ME, &config);
    let r2 = session.on_update(&rotated).unwrap().unwrap();
    assert_eq!(r2.version_info, "2");
    assert_ne!(r2.nonce, r1.nonce);
    assert_ne!(decode(&r2), decode(&r1));

    // NACK of version 2: logged, not resent (twice: no loop).
    assert!(
        session
            .on_request(&nack(&["default", "ROOTCA"], "1", &r2.nonce), &rotated)
            .unwrap()
            .is_none()
    );
    assert!(
        session
            .on_request(&nack(&["default", "ROOTCA"], "1", &r2.nonce), &rotated)
            .unwrap()
            .is_none()
    );
    assert!(session.on_update(&rotated).unwrap().is_none());

    // A stale nonce is ignored, even with a new subscription.
    assert!(
        session
            .on_request(&request(&["ALL"], "2", &r1.nonce), &rotated)
            .unwrap()
            .is_none()
    );
    // A new subscription with the current nonce is answered at once.
    let r3 = session
        .on_request(&request(&["ALL"], "2", &r2.nonce), &rotated)
        .unwrap()
        .unwrap();
    assert_eq!(r3.version_info, "3");
    assert_eq!(decode(&r3)[0].name, "ALL");
    // Only ALL is subscribed now: a rotation of SVIDs alone changes nothing for it.
    let rotated_again = catalog_for(&w.state(), ME, &config);
    assert!(session.on_update(&rotated_again).unwrap().is_none());
}

#[test]
fn bad_requests_are_refused() {
    let w = World::new();
    let catalog = catalog_for(&w.state(), ME, &SdsSection::default());
    let mut session = Session::new(1);
    let wrong = DiscoveryRequest {
        type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster".into(),
        ..Default::default()
    };
    assert!(matches!(
        session.on_request(&wrong, &catalog),
        Err(SdsError::WrongType { .. })
    ));
    let many: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    let many = DiscoveryRequest {
        resource_names: many,
        ..Default::default()
    };
    assert!(matches!(
        session.on_request(&many, &catalog),
        Err(SdsError::TooManyNames { count: 300, .. })
    ));
    let long = request(&[&"x".repeat(3000)], "", "");
    assert!(matches!(
        session.on_request(&long, &catalog),
        Err(SdsError::NameTooLong { .. })
    ));
    let theirs = request(&["spiffe://example.org/c"], "", "");
    assert!(matches!(
        session.on_request(&theirs, &catalog),
        Err(SdsError::NotEntitled { .. })
    ));
}
