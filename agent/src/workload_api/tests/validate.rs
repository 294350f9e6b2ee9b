//! `ValidateJWTSVID`: the pure check, then the RPC.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use prost_types::value::Kind;
use rcgen::PublicKeyData;
use serde_json::{Value, json};
use tessera_proto::clock::unix_seconds;
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority};
use tessera_proto::wire::workload::ValidateJwtsvidRequest;
use tonic::Code;

use super::support::*;
use crate::testing::TestCa;
use crate::workload_api::{TokenError, validate_jwt_svid};

struct Signer {
    key: rcgen::KeyPair,
}

impl Signer {
    fn new() -> Self {
        Self {
            key: rcgen::KeyPair::generate().unwrap(),
        }
    }

    fn spki(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }

    fn sign_with(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        header.typ = Some("JWT".into());
        let key = EncodingKey::from_ec_der(&self.key.serialize_der());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(Algorithm::ES256, "kid-1", claims)
    }
}

fn bundle(td: &str, keys: &[(&str, Vec<u8>)]) -> Bundle {
    Bundle {
        trust_domain: td.into(),
        jwt_authorities: keys
            .iter()
            .map(|(kid, spki)| JwtAuthority {
                key_id: (*kid).into(),
                public_key: spki.clone(),
                expires_at: 0,
                tainted: false,
            })
            .collect(),
        ..Bundle::default()
    }
}

fn claims(now: SystemTime, aud: Value) -> Value {
    json!({
        "sub": "spiffe://example.org/web",
        "aud": aud,
        "exp": unix_seconds(now) + 300,
        "iat": unix_seconds(now),
        "nested": {"k": [1, "two"]},
    })
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn accepts_a_good_es256_token_and_returns_its_claims() {
    let now = SystemTime::now();
    let s = Signer::new();
    let own = bundle(TD, &[("kid-1", s.spki())]);
    let token = s.sign(&claims(now, json!(["db", "cache"])));
    let ok = validate_jwt_svid(&token, "cache", [&own], now).unwrap();
    assert_eq!(ok.spiffe_id.as_str(), "spiffe://example.org/web");
    assert_eq!(ok.claims["nested"], json!({"k": [1, "two"]}));
    // `aud` as a single string.
    let token = s.sign(&claims(now, json!("db")));
    assert!(validate_jwt_svid(&token, "db", [&own], now).is_ok());
    // A federated trust domain's key, found by the subject's trust domain.
    let fed = Signer::new();
    let partner = bundle("partner.org", &[("kid-1", fed.spki())]);
    let mut c = claims(now, json!(["db"]));
    c["sub"] = json!("spiffe://partner.org/api");
    let token = fed.sign(&c);
    assert!(validate_jwt_svid(&token, "db", [&own, &partner], now).is_ok());
}

#[test]
fn rejects_none_hmac_and_mismatched_algorithms() {
    let now = SystemTime::now();
    let s = Signer::new();
    let own = bundle(TD, &[("kid-1", s.spki())]);
    let c = claims(now, json!(["db"]));

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "kid-1"})),
        b64(&c)
    );
    assert_eq!(
        validate_jwt_svid(&none, "db", [&own], now).unwrap_err(),
        TokenError::UnsupportedAlgorithm("none".into())
    );

    // HS256 "signed" with the public key bytes as the secret (the classic confusion attack).
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("kid-1".into());
    let hs =
        jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(&s.spki()).unwrap()).unwrap();
    assert_eq!(
        validate_jwt_svid(&hs, "db", [&own], now).unwrap_err(),
        TokenError::UnsupportedAlgorithm("HS256".into())
    );

    // ES384 header over a P-256 key.
    let forged = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "ES384", "kid": "kid-1", "typ": "JWT"})),
        b64(&c),
        URL_SAFE_NO_PAD.encode([0u8; 96])
    );
    assert!(matches!(
        validate_jwt_svid(&forged, "db", [&own], now).unwrap_err(),
        TokenError::AlgorithmMismatch { .. }
    ));

    // Tampered claims.
    let token = s.sign(&c);
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut evil = c.clone();
    evil["sub"] = json!("spiffe://example.org/admin");
    let evil = b64(&evil);
    parts[1] = &evil;
    assert_eq!(
        validate_jwt_svid(&parts.join("."), "db", [&own], now).unwrap_err(),
        TokenError::BadSignature
    );

    // A bad typ.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("kid-1".into());
    header.typ = Some("at+jwt".into());
    let at = jsonwebtoken::encode(
        &header,
        &c,
        &EncodingKey::from_ec_der(&s.key.serialize_der()),
    )
    .unwrap();
    assert!(matches!(
        validate_jwt_svid(&at, "db", [&own], now).unwrap_err(),
        TokenError::UnsupportedType(_)
    ));
}

#[test]
fn rejects_wrong_audience_expired_not_yet_valid_unknown_keys_and_garbage() {
    let now = SystemTime::now();
    let s = Signer::new();
    let own = bundle(TD, &[("kid-1", s.spki())]);
    let check = |token: &str| validate_jwt_svid(token, "db", [&own], now).unwrap_err();

    assert_eq!(
        check(&s.sign(&claims(now, json!(["other"])))),
        TokenError::AudienceMismatch
    );
    let mut c = claims(now, json!(["db"]));
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(check(&s.sign(&c)), TokenError::AudienceMismatch);

    let mut c = claims(now, json!(["db"]));
    c["exp"] = json!(unix_seconds(now));
    assert_eq!(check(&s.sign(&c)), TokenError::Expired);
    c["exp"] = json!(unix_seconds(now - Duration::from_secs(60)));
    assert_eq!(check(&s.sign(&c)), TokenError::Expired);
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(check(&s.sign(&c)), TokenError::MissingExpiry);

    let mut c = claims(now, json!(["db"]));
    c["nbf"] = json!(unix_seconds(now) + 30);
    assert_eq!(check(&s.sign(&c)), TokenError::NotYetValid);

    let c = claims(now, json!(["db"]));
    assert!(matches!(
        check(&s.sign_with(Algorithm::ES256, "kid-9", &c)),
        TokenError::UnknownKey { .. }
    ));
    let mut other = c.clone();
    other["sub"] = json!("spiffe://other.org/web");
    assert_eq!(
        check(&s.sign(&other)),
        TokenError::UnknownTrustDomain("other.org".into())
    );
    other["sub"] = json!("not-a-spiffe-id");
    assert_eq!(check(&s.sign(&other)), TokenError::BadSubject);

    assert!(matches!(check("abc"), TokenError::Malformed(_)));
    assert!(matches!(check("a.b.c.d"), TokenError::Malformed(_)));
    assert!(matches!(check("!!.!!.!!"), TokenError::Malformed(_)));
    let no_kid = format!("{}.{}.x", b64(&json!({"alg": "ES256"})), b64(&c));
    assert_eq!(check(&no_kid), TokenError::MissingKid);
}

#[tokio::test]
async fn validate_rpc_returns_claims_or_invalid_argument_without_the_token() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    let s = Signer::new();
    let st = state(
        &ca,
        &[("kid-1", s.spki())],
        vec![cached(
            &ca,
            entry("e1", "web", &[WORKLOAD_SELECTOR], 1),
            now,
        )],
    );
    let h = Harness::start(Some(st), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let token = s.sign(&claims(now, json!(["db"])));
    let ok = client
        .validate_jwtsvid(req(ValidateJwtsvidRequest {
            audience: "db".into(),
            svid: token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.spiffe_id, "spiffe://example.org/web");
    let claims = ok.claims.unwrap();
    assert_eq!(
        claims.fields["sub"].kind,
        Some(Kind::StringValue("spiffe://example.org/web".into()))
    );

    let err = client
        .validate_jwtsvid(req(ValidateJwtsvidRequest {
            audience: "other".into(),
            svid: token.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("audience"), "{err}");
    assert!(!err.message().contains(&token));

    for (audience, svid, field) in [("", token.as_str(), "audience"), ("db", "", "svid")] {
        let err = client
            .validate_jwtsvid(req(ValidateJwtsvidRequest {
                audience: audience.into(),
                svid: svid.into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(field), "{err}");
    }
}
