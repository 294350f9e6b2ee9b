//! X.509 shapes per the X.509-SVID spec, chains to the bundle, JWT-SVIDs verify.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tessera_proto::bundle::PublicJwk;
use tessera_proto::clock::{Clock, TokioClock, unix_seconds};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::*;

use super::{HOUR, config, memory_ca, open_with, t0};
use crate::ca::{KeyType, X509SvidRequest};
use crate::datastore::memory::MemoryStore;

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).unwrap().1
}

fn uris<'a>(cert: &'a X509Certificate<'_>) -> Vec<&'a str> {
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        })
        .collect()
}

fn dns<'a>(cert: &'a X509Certificate<'_>) -> Vec<&'a str> {
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(*d),
            _ => None,
        })
        .collect()
}

fn request(id: &str, dns_names: &[&str], ttl: Option<Duration>) -> X509SvidRequest {
    let key = KeyType::EcP256.generate().unwrap();
    X509SvidRequest {
        spiffe_id: id.parse().unwrap(),
        public_key: key.public_key_der(),
        dns_names: dns_names.iter().map(|s| s.to_string()).collect(),
        ip_addresses: Vec::new(),
        ttl,
    }
}

#[tokio::test(start_paused = true)]
async fn leaf_has_exactly_the_x509_svid_shape_and_chains_to_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let snap = ca.snapshot();
    let req = request(
        "spiffe://example.org/ns/web",
        &["web.example.org", "web"],
        None,
    );
    let now = t0() + HOUR;
    let svid = snap.sign_x509_svid(now, &req).unwrap();
    assert_eq!(svid.chain.len(), 1, "self-signed root: the leaf alone");
    let leaf = parse(&svid.chain[0]);

    assert_eq!(uris(&leaf), ["spiffe://example.org/ns/web"]);
    assert_eq!(dns(&leaf), ["web.example.org", "web"]);
    let cn: Vec<_> = leaf
        .subject()
        .iter_common_name()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(cn, ["web.example.org"]);

    let bc = leaf.basic_constraints().unwrap().unwrap();
    assert!(!bc.value.ca);
    let ku = leaf.key_usage().unwrap().unwrap();
    assert!(ku.critical);
    assert!(
        ku.value.digital_signature() && ku.value.key_encipherment() && ku.value.key_agreement()
    );
    assert!(!ku.value.key_cert_sign() && !ku.value.crl_sign());
    let eku = leaf.extended_key_usage().unwrap().unwrap();
    assert!(eku.value.server_auth && eku.value.client_auth);
    assert_eq!(leaf.public_key().raw, req.public_key.as_slice());

    assert_eq!(
        leaf.validity().not_after.timestamp(),
        unix_seconds(now + HOUR)
    );
    assert_eq!(
        leaf.validity().not_before.timestamp(),
        unix_seconds(now) - 10,
        "backdated 10 s"
    );
    // Never before the CA itself.
    let early = snap.sign_x509_svid(t0(), &req).unwrap();
    assert_eq!(
        parse(&early.chain[0]).validity().not_before.timestamp(),
        unix_seconds(t0())
    );

    let roots = snap.x509_authorities();
    assert_eq!(roots.len(), 1);
    let root = parse(&roots[0]);
    leaf.verify_signature(Some(root.public_key())).unwrap();
    assert_eq!(leaf.issuer(), root.subject());
}

#[tokio::test(start_paused = true)]
async fn ca_certificates_are_signing_certs_with_unique_serial_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    ca.prepare(crate::ca::Kind::X509).await.unwrap();
    let roots = ca.snapshot().x509_authorities();
    assert_eq!(roots.len(), 2, "active and prepared are both published");
    let mut subjects = Vec::new();
    for der in &roots {
        let cert = parse(der);
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.value.ca);
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.value.key_cert_sign());
        assert_eq!(uris(&cert), ["spiffe://example.org"]);
        let serial_attr: Vec<String> = cert
            .subject()
            .iter_attributes()
            .filter(|a| a.attr_type().to_id_string() == "2.5.4.5")
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(serial_attr, [hex::encode(cert.raw_serial())]);
        cert.verify_signature(None).unwrap();
        subjects.push(cert.subject().to_string());
    }
    assert_ne!(subjects[0], subjects[1]);
}

#[tokio::test(start_paused = true)]
async fn ttl_is_capped_to_the_ca_and_bad_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let snap = ca.snapshot();
    let long = request("spiffe://example.org/w", &[], Some(100 * HOUR));
    let svid = snap.sign_x509_svid(t0(), &long).unwrap();
    assert_eq!(svid.expires_at, t0() + 24 * HOUR);
    let leaf = parse(&svid.chain[0]);
    assert!(
        leaf.subject().iter_common_name().next().is_none(),
        "no DNS name, no CN"
    );

    for bad in [
        request("spiffe://other.org/w", &[], None),
        request("spiffe://example.org", &[], None),
        request("spiffe://example.org/w", &["bad name"], None),
        request("spiffe://example.org/w", &[], Some(Duration::ZERO)),
    ] {
        let err = snap.sign_x509_svid(t0(), &bad).unwrap_err();
        assert!(
            matches!(err, crate::ca::CaError::InvalidRequest(_)),
            "{err}"
        );
    }
    // The CA's final check uses the registration rules: `*` only as the whole leftmost
    // label above two labels.
    for (name, why) in [
        (
            "a.*.example.org",
            "* is only allowed as the whole leftmost label",
        ),
        (
            "*.*.example.org",
            "* is only allowed as the whole leftmost label",
        ),
        ("*.org", "a wildcard needs at least two labels after it"),
    ] {
        let err = snap
            .sign_x509_svid(t0(), &request("spiffe://example.org/w", &[name], None))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            crate::ca::CaError::InvalidRequest(format!("{name:?} is not a valid DNS name: {why}"))
                .to_string()
        );
    }
    assert!(
        snap.sign_x509_svid(
            t0(),
            &request("spiffe://example.org/w", &["*.example.org"], None)
        )
        .is_ok()
    );
    let mut garbage = request("spiffe://example.org/w", &[], None);
    garbage.public_key = vec![0x30, 0x03, 0x01, 0x01, 0x00];
    let err = snap.sign_x509_svid(t0(), &garbage).unwrap_err();
    assert!(
        matches!(err, crate::ca::CaError::InvalidRequest(_)),
        "{err}"
    );
}

fn decoding_key(jwk: &PublicJwk) -> DecodingKey {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    match jwk {
        PublicJwk::Ec { x, y, .. } => DecodingKey::from_ec_components(&b64(x), &b64(y)).unwrap(),
        PublicJwk::Rsa { n, e } => DecodingKey::from_rsa_components(&b64(n), &b64(e)).unwrap(),
    }
}

async fn jwt_round_trip(key_type: KeyType, alg: Algorithm) {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let ca = open_with(
        MemoryStore::default(),
        clock,
        dir.path(),
        config(key_type),
        None,
    )
    .await;
    let snap = ca.snapshot();
    let now = std::time::SystemTime::now();
    let id = "spiffe://example.org/ns/api".parse().unwrap();
    let aud = vec!["spiffe://example.org/db".to_string(), "other".to_string()];
    let jwt = snap.sign_jwt_svid(now, &id, &aud, None).unwrap();

    let header = jsonwebtoken::decode_header(&jwt.token).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.unwrap();
    let doc = snap.spiffe_document().unwrap();
    let key = doc.jwt_authorities.iter().find(|k| k.kid == kid).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_audience(&["other"]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let data =
        jsonwebtoken::decode::<serde_json::Value>(&jwt.token, &decoding_key(&key.key), &validation)
            .unwrap();
    assert_eq!(data.claims["sub"], "spiffe://example.org/ns/api");
    assert_eq!(data.claims["aud"], serde_json::json!(aud));
    assert_eq!(
        data.claims["exp"].as_i64().unwrap(),
        unix_seconds(now + Duration::from_secs(300))
    );
    assert_eq!(data.claims["iat"].as_i64().unwrap(), unix_seconds(now));

    // Tampering breaks the signature.
    let mut parts: Vec<&str> = jwt.token.split('.').collect();
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"sub":"spiffe://example.org/admin","aud":["other"],"exp":9999999999}"#,
    );
    parts[1] = &forged;
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            &parts.join("."),
            &decoding_key(&key.key),
            &validation
        )
        .is_err()
    );
    assert!(
        snap.sign_jwt_svid(now, &id, &[], None).is_err(),
        "audience is required"
    );
}

#[tokio::test(start_paused = true)]
async fn jwt_svids_verify_with_the_bundle_keys_for_each_key_type() {
    jwt_round_trip(KeyType::EcP256, Algorithm::ES256).await;
    jwt_round_trip(KeyType::EcP384, Algorithm::ES384).await;
    jwt_round_trip(KeyType::Rsa2048, Algorithm::RS256).await;
}

#[tokio::test(start_paused = true)]
async fn rsa_and_p384_cas_sign_valid_leaves() {
    for kt in [KeyType::EcP384, KeyType::Rsa2048] {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
        let ca = open_with(MemoryStore::default(), clock, dir.path(), config(kt), None).await;
        let snap = ca.snapshot();
        let svid = snap
            .sign_x509_svid(t0(), &request("spiffe://example.org/w", &[], None))
            .unwrap();
        let root = snap.x509_authorities().remove(0);
        parse(&svid.chain[0])
            .verify_signature(Some(parse(&root).public_key()))
            .unwrap();
    }
}
