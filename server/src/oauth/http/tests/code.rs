//! The authorization code grant at the token endpoint: PKCE, client and redirect binding,
//! single use with revocation on replay, OpenID Connect ID tokens.

use std::time::Duration;

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};

use super::code_support::{REDIRECT, USER, VERIFIER, code_grant, code_harness};
use super::fakes::{ISSUER, call, form, post};
use crate::oauth::http::id_token::at_hash;
use crate::oauth::http::pkce::challenge_of;

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token`'s ES256 signature against `jwks` (aud `aud`, iss the issuer).
fn verify(token: &str, jwks: &Value, aud: &str) -> Map<String, Value> {
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn a_code_with_pkce_gives_an_access_token_and_a_verifiable_id_token() {
    let h = code_harness();
    let code = h
        .seed(code_grant("web", &["openid", "profile", "read"]))
        .await;
    let (status, headers, body) = h
        .token(
            "web",
            &[
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile read");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body.get("refresh_token").is_none());

    let access = body["access_token"].as_str().unwrap();
    assert_eq!(decode_part(access, 0)["typ"], "at+jwt");
    let at = verify(access, &h.jwks, ISSUER);
    assert_eq!(at["sub"], USER);
    assert_eq!(at["client_id"], "web");
    assert_eq!(at["scope"], "openid profile read");
    assert!(h.active(access).await);

    let id_token = body["id_token"].as_str().unwrap();
    let header = decode_part(id_token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    let id = verify(id_token, &h.jwks, "web");
    assert_eq!(id["iss"], ISSUER);
    assert_eq!(id["sub"], USER);
    assert_eq!(id["aud"], "web");
    assert_eq!(id["azp"], "web");
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["auth_time"], 1_799_999_990);
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["at_hash"], at_hash(access));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(
        id["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    );
    assert_eq!(id["iat"], at["iat"]);
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    // Minimal ID token: profile claims come from UserInfo.
    assert!(id.get("preferred_username").is_none() && id.get("email").is_none());
}

#[tokio::test]
async fn a_public_client_redeems_with_client_id_alone_and_no_openid_means_no_id_token() {
    let h = code_harness();
    let code = h.seed(code_grant("spa", &["read"])).await;
    let (status, body) = h.redeem("spa", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("id_token").is_none());
    let at = verify(body["access_token"].as_str().unwrap(), &h.jwks, ISSUER);
    assert_eq!(
        (at["sub"].as_str(), at["client_id"].as_str()),
        (Some(USER), Some("spa"))
    );
}

#[tokio::test]
async fn pkce_is_required_and_only_s256() {
    let h = code_harness();
    let wrong = "x".repeat(43);
    let plain_challenge = "p".repeat(50);
    let short_challenge = challenge_of("short");
    let cases: [(Option<&str>, Option<&str>); 4] = [
        (Some(wrong.as_str()), None),
        (None, None),
        // `plain`: a code whose challenge is the verifier itself.
        (
            Some(plain_challenge.as_str()),
            Some(plain_challenge.as_str()),
        ),
        // A verifier too short to be one (RFC 7636 §4.1), even if its hash matched.
        (Some("short"), Some(short_challenge.as_str())),
    ];
    for (verifier, challenge) in cases {
        let mut grant = code_grant("web", &["openid"]);
        if let Some(challenge) = challenge {
            grant.code_challenge = challenge.to_owned();
        }
        let code = h.seed(grant).await;
        let mut pairs = vec![("code", code.as_str()), ("redirect_uri", REDIRECT)];
        if let Some(v) = verifier {
            pairs.push(("code_verifier", v));
        }
        let (status, _, body) = h.token("web", &pairs).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{verifier:?}");
        assert_eq!(body["error"], "invalid_grant", "{verifier:?}");
        assert!(body.get("access_token").is_none());
    }
}

/// RFC 9700 §4.2: a redemption that fails the PKCE or client check must not spend the code:
/// the legitimate holder still redeems it afterwards.
#[tokio::test]
async fn a_wrong_verifier_or_another_client_does_not_spend_the_code() {
    let h = code_harness();
    let code = h.seed(code_grant("spa", &["openid"])).await;
    let wrong = "x".repeat(43);
    let pairs = [
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", wrong.as_str()),
    ];
    let (status, _, body) = h.token("spa", &pairs).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = h.redeem("web", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = h.redeem("spa", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
}

/// A spent code presented by another client or with a wrong verifier is refused but is no
/// replay: the legitimate holder's tokens stay valid.
#[tokio::test]
async fn a_replay_by_another_client_or_wrong_verifier_does_not_revoke_the_holders_tokens() {
    let h = code_harness();
    let code = h.seed(code_grant("web", &["openid", "read"])).await;
    let (status, first) = h.redeem("web", &code).await;
    assert_eq!(status, StatusCode::OK);
    let access = first["access_token"].as_str().unwrap();
    let (status, body) = h.redeem("spa", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let wrong = "x".repeat(43);
    let pairs = [
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", wrong.as_str()),
    ];
    let (status, _, body) = h.token("web", &pairs).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(h.active(access).await, "the holder's token must survive");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let h = code_harness();
    let code = h.seed(code_grant("web", &["openid"])).await;
    let (status, body) = h.redeem("spa", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    for redirect in [
        Some("https://app.example.test/cb/other"),
        Some("https://evil.test/cb"),
        None,
    ] {
        let code = h.seed(code_grant("web", &["openid"])).await;
        let mut pairs = vec![("code", code.as_str()), ("code_verifier", VERIFIER)];
        if let Some(r) = redirect {
            pairs.push(("redirect_uri", r));
        }
        let (status, _, body) = h.token("web", &pairs).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect:?}");
        assert_eq!(body["error"], "invalid_grant", "{redirect:?}");
    }
    // A client without the grant is refused before the code is looked at.
    let code = h.seed(code_grant("svc", &["openid"])).await;
    let (status, _, body) = h
        .token(
            "svc",
            &[
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_tokens_it_issued() {
    let h = code_harness();
    let code = h.seed(code_grant("web", &["openid", "read"])).await;
    let (status, first) = h.redeem("web", &code).await;
    assert_eq!(status, StatusCode::OK);
    let access = first["access_token"].as_str().unwrap();
    assert!(h.active(access).await);

    let (status, second) = h.redeem("web", &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert!(second.get("access_token").is_none());
    assert!(
        !h.active(access).await,
        "replay must revoke the first token"
    );
}

#[tokio::test]
async fn expired_and_unknown_codes_are_invalid_grant() {
    let h = code_harness();
    let code = h.seed(code_grant("web", &["openid"])).await;
    h.clock.advance(Duration::from_secs(61));
    assert_eq!(h.redeem("web", &code).await.1["error"], "invalid_grant");
    assert_eq!(
        h.redeem("web", "not-a-code").await.1["error"],
        "invalid_grant"
    );
    let (status, _, body) = h
        .token(
            "web",
            &[("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn public_clients_cannot_introspect() {
    let h = code_harness();
    let code = h.seed(code_grant("spa", &["openid"])).await;
    let access = h.redeem("spa", &code).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = post(
        "/oauth2/introspect",
        None,
        form(&[("client_id", "spa"), ("token", &access)]),
    );
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}

/// Issue 11 §1: a code (or device approval) of an account disabled or deleted since is
/// refused at the token endpoint.
#[tokio::test]
async fn a_code_of_a_disabled_or_deleted_account_is_refused() {
    let h = code_harness();
    let code = h.seed(code_grant("web", &["openid"])).await;
    h.profiles.0.lock().unwrap().remove(USER);
    let (status, body) = h.redeem("web", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        body["error_description"],
        "the user account is disabled or deleted"
    );
}
