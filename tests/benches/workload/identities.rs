//! The bench's identities: a CA, leaves for `spiffe://example.org/bench`, the agent state
//! that serves them, and fingerprints to tell messages apart.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use tessera_agent::manager::{AgentState, CachedEntry};
use tessera_agent::x509::SvidWithKey;
use tessera_proto::wire::tessera::types::v1::{
    Bundle, Entry, Selector as WireSelector, X509Authority,
};
use tessera_proto::wire::workload::X509svidResponse;
use zeroize::Zeroizing;

use super::TD;

pub(super) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
}

pub(super) fn new_ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
        .distinguished_name
        .push(DnType::CommonName, "bench CA 1");
    params.subject_alt_names = vec![SanType::URI(format!("spiffe://{TD}").try_into().unwrap())];
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca {
        issuer: Issuer::new(params, key),
        der,
    }
}

/// A fresh key and a leaf for `spiffe://example.org/bench` with serial `serial`.
pub(super) fn leaf(ca: &Ca, serial: u64) -> SvidWithKey {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::URI(
        format!("spiffe://{TD}/bench").try_into().unwrap(),
    )];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.serial_number = Some(SerialNumber::from(serial));
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &ca.issuer).unwrap().der().to_vec();
    SvidWithKey::from_parts(vec![cert], Zeroizing::new(key.serialize_der()), None).unwrap()
}

pub(super) fn state(ca: &Ca, svid: SvidWithKey, uid: u32) -> AgentState {
    let entry = Entry {
        id: "bench-entry".into(),
        spiffe_id: format!("spiffe://{TD}/bench"),
        parent_id: format!("spiffe://{TD}/agent"),
        selectors: vec![WireSelector {
            r#type: "unix".into(),
            value: format!("uid:{uid}"),
        }],
        hint: "bench".into(),
        created_at: 1,
        ..Entry::default()
    };
    AgentState {
        agent_id: format!("spiffe://{TD}/agent"),
        bundle: Bundle {
            trust_domain: TD.into(),
            x509_authorities: vec![X509Authority {
                asn1: ca.der.clone(),
                tainted: false,
            }],
            sequence: 1,
            ..Bundle::default()
        },
        federated_bundles: Vec::new(),
        entries: vec![CachedEntry {
            entry: Arc::new(entry),
            svid: Some(Arc::new(svid)),
        }],
    }
}

pub(super) fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

pub(super) fn leaf_fingerprint(msg: &X509svidResponse) -> u64 {
    msg.svids.first().map_or(0, |s| fingerprint(&s.x509_svid))
}
