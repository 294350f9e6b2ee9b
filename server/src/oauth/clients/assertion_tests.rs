//! `private_key_jwt` verification: each refusal is a defence that a test removes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::super::test_support::{EcKey, EdKey, jwks, sign_hs256};
use super::*;

const TOKEN_ENDPOINT: &str = "https://auth.example.test/oauth2/token";
const ISSUER: &str = "https://auth.example.test";
const NOW: u64 = 1_800_000_000;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
}

fn claims() -> Value {
    json!({
        "iss": "svc", "sub": "svc", "aud": TOKEN_ENDPOINT,
        "exp": NOW + 60, "iat": NOW, "jti": "j-1",
    })
}

fn header(kid: Option<&str>) -> Value {
    match kid {
        Some(kid) => json!({"alg": "ES256", "typ": "JWT", "kid": kid}),
        None => json!({"alg": "ES256", "typ": "JWT"}),
    }
}

fn verify(assertion: &str, registered: &str) -> Result<VerifiedAssertion, AssertionError> {
    verify_private_key_jwt(
        assertion,
        "svc",
        registered,
        &[TOKEN_ENDPOINT, ISSUER],
        now(),
    )
}

#[test]
fn a_good_assertion_verifies_and_reports_its_jti_and_replay_window() {
    let key = EcKey::generate();
    let set = jwks(&[key.jwk(Some("k1"), Some("ES256"))]);
    let v = verify(&key.sign(&header(Some("k1")), &claims()), &set).unwrap();
    assert_eq!(v.jti.as_deref(), Some("j-1"));
    assert_eq!(v.replay_until, now() + Duration::from_secs(60) + LEEWAY);
    // Without kid: every key of the right type is tried.
    assert!(verify(&key.sign(&header(None), &claims()), &set).is_ok());
    // The issuer as audience (in an array) is accepted too.
    let mut c = claims();
    c["aud"] = json!(["https://elsewhere", ISSUER]);
    assert!(verify(&key.sign(&header(None), &c), &set).is_ok());
    assert_eq!(
        unverified_client_id(&key.sign(&header(None), &claims())).as_deref(),
        Some("svc")
    );
}

#[test]
fn alg_none_is_refused() {
    let key = EcKey::generate();
    let set = jwks(&[key.jwk(None, None)]);
    let signed = key.sign(&header(None), &claims());
    let mut parts = signed.split('.');
    let (_, payload) = (parts.next(), parts.next().unwrap());
    let none_header = super::super::test_support::signing_input(
        &json!({"alg": "none", "typ": "JWT"}),
        &json!({}),
    );
    let none_header = none_header.split('.').next().unwrap();
    let unsigned = format!("{none_header}.{payload}.");
    assert_eq!(
        verify(&unsigned, &set),
        Err(AssertionError::UnsupportedAlgorithm("none".into()))
    );
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let key = EcKey::generate();
    let jwk = key.jwk(Some("k1"), None);
    let set = jwks(std::slice::from_ref(&jwk));
    // The classic confusion attack: HMAC keyed with the public key material.
    for secret in [jwk.to_string().into_bytes(), key.spki()] {
        let forged = sign_hs256(&secret, &json!({"alg": "HS256", "kid": "k1"}), &claims());
        assert_eq!(
            verify(&forged, &set),
            Err(AssertionError::UnsupportedAlgorithm("HS256".into()))
        );
    }
    // Even a registered symmetric key is never used.
    let oct = jwks(&[json!({"kty": "oct", "k": "c2VjcmV0", "kid": "k1"})]);
    let forged = sign_hs256(b"secret", &json!({"alg": "HS256", "kid": "k1"}), &claims());
    assert!(verify(&forged, &oct).is_err());
}

#[test]
fn claim_checks_refuse_expired_wrong_audience_and_foreign_issuer() {
    let key = EcKey::generate();
    let set = jwks(&[key.jwk(None, None)]);
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        verify(&key.sign(&header(None), &c), &set)
    };
    let leeway = LEEWAY.as_secs();
    assert_eq!(
        with("exp", json!(NOW - leeway)),
        Err(AssertionError::Expired)
    );
    assert!(
        with("exp", json!(NOW - leeway + 1)).is_ok(),
        "within the skew"
    );
    assert_eq!(with("exp", Value::Null), Err(AssertionError::MissingExpiry));
    assert_eq!(
        with("aud", json!("https://other.example/token")),
        Err(AssertionError::AudienceMismatch)
    );
    assert_eq!(
        with("aud", json!([])),
        Err(AssertionError::AudienceMismatch)
    );
    assert_eq!(
        with("iss", json!("other")),
        Err(AssertionError::WrongIssuer)
    );
    assert_eq!(
        with("sub", json!("other")),
        Err(AssertionError::WrongIssuer)
    );
    assert_eq!(
        with("nbf", json!(NOW + leeway + 10)),
        Err(AssertionError::NotYetValid)
    );
    assert_eq!(
        with("iat", json!(NOW + leeway + 10)),
        Err(AssertionError::NotYetValid)
    );
    assert_eq!(with("jti", Value::Null), Err(AssertionError::MissingJti));
    assert_eq!(with("jti", json!("")), Err(AssertionError::MissingJti));
    assert_eq!(
        with("jti", json!("x".repeat(MAX_JTI_LEN + 1))),
        Err(AssertionError::MissingJti)
    );
}

#[test]
fn the_acceptance_window_is_bounded_by_iat_or_by_exp() {
    let key = EcKey::generate();
    let set = jwks(&[key.jwk(None, None)]);
    let max = MAX_ASSERTION_AGE.as_secs();
    let leeway = LEEWAY.as_secs();
    let run = |iat: Option<u64>, exp: u64| {
        let mut c = claims();
        c["exp"] = json!(exp);
        match iat {
            Some(iat) => c["iat"] = json!(iat),
            None => drop(c.as_object_mut().unwrap().remove("iat")),
        }
        verify(&key.sign(&header(None), &c), &set)
    };
    // authlib's default: exp one hour after iat. Accepted, remembered only for the window.
    let long = run(Some(NOW), NOW + 3600).unwrap();
    assert_eq!(
        long.replay_until,
        now() + MAX_ASSERTION_AGE + LEEWAY,
        "the jti is kept only as long as the assertion is acceptable"
    );
    assert_eq!(
        run(Some(NOW - max - leeway), NOW + 3600),
        Err(AssertionError::TooOld)
    );
    assert!(run(Some(NOW - max - leeway + 1), NOW + 3600).is_ok());
    // Without iat, exp itself must be near.
    assert!(run(None, NOW + max + leeway).is_ok());
    assert_eq!(
        run(None, NOW + max + leeway + 1),
        Err(AssertionError::LifetimeTooLong)
    );
}

#[test]
fn keys_are_chosen_by_kid_type_and_alg() {
    let key = EcKey::generate();
    let assertion = key.sign(&header(Some("k1")), &claims());
    assert_eq!(
        verify(&assertion, &jwks(&[key.jwk(Some("k2"), None)])),
        Err(AssertionError::UnknownKey("k1".into()))
    );
    assert_eq!(
        verify(&assertion, &jwks(&[key.jwk(Some("k1"), Some("ES384"))])),
        Err(AssertionError::NoUsableKey),
        "the key's own alg must match the header"
    );
    let mut enc = key.jwk(Some("k1"), None);
    enc["use"] = json!("enc");
    assert_eq!(
        verify(&assertion, &jwks(&[enc])),
        Err(AssertionError::NoUsableKey)
    );
    assert_eq!(verify(&assertion, "not json"), Err(AssertionError::BadJwks));
}

#[test]
fn a_key_of_another_client_does_not_verify() {
    let mine = EcKey::generate();
    let theirs = EcKey::generate();
    // Same kid in both sets; signed with the other client's key.
    let assertion = theirs.sign(&header(Some("k1")), &claims());
    assert_eq!(
        verify(&assertion, &jwks(&[mine.jwk(Some("k1"), None)])),
        Err(AssertionError::BadSignature)
    );
    // Without a kid, the one matching key among several is found.
    let both = jwks(&[mine.jwk(None, None), theirs.jwk(None, None)]);
    assert!(verify(&theirs.sign(&header(None), &claims()), &both).is_ok());
}

#[test]
fn eddsa_assertions_are_accepted() {
    let key = EdKey::generate();
    let header = json!({"alg": "EdDSA", "kid": "ed"});
    let assertion = key.sign(&header, &claims());
    assert!(verify(&assertion, &jwks(&[key.jwk("ed")])).is_ok());
    assert!(ASSERTION_ALGORITHMS.contains(&"EdDSA"));
}

#[test]
fn malformed_assertions_are_refused_without_panicking() {
    let set = jwks(&[EcKey::generate().jwk(None, None)]);
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.??.x",
        "e30.e30.",
        "bnVsbA.bnVsbA.x",
    ] {
        assert!(verify(bad, &set).is_err(), "{bad}");
        assert_eq!(unverified_client_id(bad), None);
    }
}

/// The one JWT parser (issue 11): a validly signed assertion whose claims repeat a member
/// (a "last one wins" parser would read another `sub`) or carry a date that is not a
/// NumericDate is refused with the parser's typed error.
#[test]
fn repeated_claims_and_bad_numeric_dates_are_refused() {
    use tessera_proto::jwt::{DateError, JwtError, Part};

    let key = EcKey::generate();
    let set = jwks(&[key.jwk(Some("k1"), None)]);
    let header = r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#;
    let repeated = format!(
        r#"{{"iss":"svc","sub":"other","aud":"{TOKEN_ENDPOINT}","exp":{},"jti":"j","sub":"svc"}}"#,
        NOW + 60
    );
    assert_eq!(
        verify(&key.sign_text(header, &repeated), &set),
        Err(AssertionError::Malformed(JwtError::DuplicateMember {
            part: Part::Claims,
            name: "sub".into()
        }))
    );
    for (exp, reason) in [
        (json!(-1), DateError::Negative),
        (json!("1800000060"), DateError::NotANumber),
        (json!(1e300), DateError::OutOfRange),
    ] {
        let mut c = claims();
        c["exp"] = exp;
        let token = key.sign(&header_of("k1"), &c);
        assert_eq!(
            verify(&token, &set),
            Err(AssertionError::BadDate {
                claim: "exp",
                reason
            })
        );
    }
    // A fraction is floored: still accepted.
    let mut c = claims();
    c["exp"] = json!((NOW + 60) as f64 + 0.5);
    assert!(verify(&key.sign(&header_of("k1"), &c), &set).is_ok());
}

fn header_of(kid: &str) -> Value {
    header(Some(kid))
}
