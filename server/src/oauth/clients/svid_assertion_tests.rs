//! `spiffe_jwt` verification against own and federated bundles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tessera_proto::identity::SpiffeId;
use tessera_proto::jwt_svid::TokenError;

use super::super::test_support::{EcKey, bundle};
use super::*;

const ISSUER: &str = "https://auth.example.test";
const TOKEN_ENDPOINT: &str = "https://auth.example.test/oauth2/token";
const NOW: u64 = 1_800_000_000;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
}

fn id(s: &str) -> SpiffeId {
    SpiffeId::parse(s).unwrap()
}

fn svid(key: &EcKey, kid: &str, sub: &str, aud: Value) -> String {
    key.sign(
        &json!({"alg": "ES256", "kid": kid, "typ": "JWT"}),
        &json!({"sub": sub, "aud": aud, "exp": NOW + 300, "iat": NOW}),
    )
}

struct World {
    own: EcKey,
    partner: EcKey,
    bundles: Vec<Bundle>,
}

fn world() -> World {
    let own = EcKey::generate();
    let partner = EcKey::generate();
    let bundles = vec![
        bundle("example.org", Some(("own-1", &own)), &[]),
        bundle("partner.test", Some(("partner-1", &partner)), &[]),
    ];
    World {
        own,
        partner,
        bundles,
    }
}

fn verify(w: &World, token: &str, registered: &str) -> Result<VerifiedAssertion, AssertionError> {
    verify_spiffe_jwt(
        token,
        &id(registered),
        &w.bundles,
        &[TOKEN_ENDPOINT],
        ISSUER,
        now(),
    )
}

#[test]
fn a_jwt_svid_for_the_token_endpoint_authenticates_its_registered_spiffe_id() {
    let w = world();
    let me = "spiffe://example.org/billing";
    let v = verify(&w, &svid(&w.own, "own-1", me, json!([TOKEN_ENDPOINT])), me).unwrap();
    assert_eq!(v.jti, None, "Tessera JWT-SVIDs have no jti: no single use");
    assert_eq!(v.replay_until, now() + Duration::from_secs(300));
    let to_endpoint = svid(&w.own, "own-1", me, json!(TOKEN_ENDPOINT));
    assert!(verify(&w, &to_endpoint, me).is_ok());
}

/// Issue 11 §4: the issuer audience belongs to token-exchange subjects. A JWT-SVID minted
/// for exchange (aud = issuer), even one that also names the token endpoint, is no client
/// credential.
#[test]
fn a_jwt_svid_for_the_issuer_is_not_a_client_assertion() {
    let w = world();
    let me = "spiffe://example.org/billing";
    let for_exchange = svid(&w.own, "own-1", me, json!([ISSUER]));
    assert_eq!(
        verify(&w, &for_exchange, me),
        Err(AssertionError::Svid(TokenError::AudienceMismatch))
    );
    let both = svid(&w.own, "own-1", me, json!([TOKEN_ENDPOINT, ISSUER]));
    assert_eq!(verify(&w, &both, me), Err(AssertionError::ExchangeAudience));
    let both = svid(&w.own, "own-1", me, json!([ISSUER, TOKEN_ENDPOINT]));
    assert_eq!(verify(&w, &both, me), Err(AssertionError::ExchangeAudience));
}

#[test]
fn a_jwt_svid_for_another_audience_is_refused() {
    let w = world();
    let me = "spiffe://example.org/billing";
    let token = svid(&w.own, "own-1", me, json!(["https://api.example.test"]));
    assert_eq!(
        verify(&w, &token, me),
        Err(AssertionError::Svid(TokenError::AudienceMismatch))
    );
}

#[test]
fn a_jwt_svid_of_another_spiffe_id_is_refused() {
    let w = world();
    let token = svid(
        &w.own,
        "own-1",
        "spiffe://example.org/other",
        json!(TOKEN_ENDPOINT),
    );
    assert_eq!(
        verify(&w, &token, "spiffe://example.org/billing"),
        Err(AssertionError::WrongSpiffeId)
    );
}

#[test]
fn a_jwt_svid_from_a_trust_domain_without_bundle_is_refused() {
    let w = world();
    let stranger = EcKey::generate();
    let me = "spiffe://stranger.test/svc";
    let token = svid(&stranger, "s-1", me, json!(TOKEN_ENDPOINT));
    assert_eq!(
        verify(&w, &token, me),
        Err(AssertionError::Svid(TokenError::UnknownTrustDomain(
            "stranger.test".into()
        )))
    );
}

#[test]
fn a_federated_jwt_svid_is_accepted_only_with_its_bundle() {
    let mut w = world();
    let me = "spiffe://partner.test/reports";
    let token = svid(&w.partner, "partner-1", me, json!(TOKEN_ENDPOINT));
    assert!(verify(&w, &token, me).is_ok());
    // A federated key cannot vouch for the own trust domain.
    let spoof = svid(
        &w.partner,
        "partner-1",
        "spiffe://example.org/x",
        json!(TOKEN_ENDPOINT),
    );
    assert!(matches!(
        verify(&w, &spoof, "spiffe://example.org/x"),
        Err(AssertionError::Svid(TokenError::UnknownKey { .. }))
    ));
    w.bundles.truncate(1);
    assert!(matches!(
        verify(&w, &token, me),
        Err(AssertionError::Svid(TokenError::UnknownTrustDomain(_)))
    ));
}

#[test]
fn a_jwt_svid_jti_is_reported_for_single_use() {
    let w = world();
    let me = "spiffe://example.org/billing";
    let token = w.own.sign(
        &json!({"alg": "ES256", "kid": "own-1"}),
        &json!({"sub": me, "aud": TOKEN_ENDPOINT, "exp": NOW + 60, "jti": "once"}),
    );
    assert_eq!(verify(&w, &token, me).unwrap().jti.as_deref(), Some("once"));
}

/// The one JWT parser (issue 11): a validly signed JWT-SVID repeating `sub` is refused (the
/// first `sub` could name another workload than the one a "last wins" parser sees).
#[test]
fn a_jwt_svid_repeating_a_claim_is_refused() {
    use tessera_proto::jwt::{JwtError, Part};

    let w = world();
    let me = "spiffe://example.org/billing";
    let claims = format!(
        r#"{{"sub":"spiffe://example.org/admin","aud":["{TOKEN_ENDPOINT}"],"exp":{},"sub":"{me}"}}"#,
        NOW + 300
    );
    let token = w
        .own
        .sign_text(r#"{"alg":"ES256","kid":"own-1","typ":"JWT"}"#, &claims);
    assert_eq!(
        verify(&w, &token, me),
        Err(AssertionError::Svid(TokenError::Malformed(
            JwtError::DuplicateMember {
                part: Part::Claims,
                name: "sub".into()
            }
        )))
    );
}
