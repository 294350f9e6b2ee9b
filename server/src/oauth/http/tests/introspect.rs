//! Introspection (RFC 7662) and revocation (RFC 7009).

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::fakes::{Harness, ISSUER, KID, access_token, basic, call, form, harness, issue, post};

async fn introspect(h: &Harness, token: &str) -> Value {
    let req = post(
        "/oauth2/introspect",
        Some(&basic("other", "o")),
        form(&[("token", token)]),
    );
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn revoke(h: &Harness, auth: &str, token: &str) -> StatusCode {
    let req = post("/oauth2/revoke", Some(auth), form(&[("token", token)]));
    call(&h.router, req).await.0
}

#[tokio::test]
async fn active_token_introspects_with_its_claims() {
    let h = harness();
    let token = access_token(&issue(&h, &[("scope", "write")]).await.2);
    let body = introspect(&h, &token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "write");
    assert_eq!(body["client_id"], "svc");
    assert_eq!(body["sub"], "svc");
    assert_eq!(body["aud"], "https://api.example.test");
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "Bearer");
    for claim in ["exp", "iat", "jti"] {
        assert!(
            body[claim].is_number() || body[claim].is_string(),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let h = harness();
    let token = access_token(&issue(&h, &[]).await.2);
    let req = post("/oauth2/introspect", None, form(&[("token", &token)]));
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn expired_token_is_inactive() {
    let h = harness();
    let token = access_token(&issue(&h, &[]).await.2);
    h.clock.advance(Duration::from_secs(599));
    assert_eq!(introspect(&h, &token).await["active"], true);
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(introspect(&h, &token).await, json!({"active": false}));
}

#[tokio::test]
async fn tampered_and_forged_tokens_are_inactive() {
    let h = harness();
    let token = access_token(&issue(&h, &[]).await.2);
    let parts: Vec<&str> = token.split('.').collect();

    // Payload changed (scope escalated), signature kept.
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(introspect(&h, &tampered).await, json!({"active": false}));

    // Signed by another key under our kid.
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": KID});
    let forged = h.signer_for_forgery.sign_raw(&header, &claims);
    assert_eq!(introspect(&h, &forged).await["active"], false);

    // alg none, HS256, wrong typ.
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": KID});
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(none_header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(introspect(&h, &none).await["active"], false);
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            typ: Some("at+jwt".into()),
            kid: Some(KID.into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"k").unwrap(),
    )
    .unwrap();
    assert_eq!(introspect(&h, &hs).await["active"], false);
    let jwt_typ = h
        .signer_for_forgery
        .sign_raw(&json!({"alg": "ES256", "typ": "JWT", "kid": KID}), &claims);
    assert_eq!(introspect(&h, &jwt_typ).await["active"], false);
    assert_eq!(introspect(&h, "garbage").await["active"], false);
}

#[tokio::test]
async fn revoked_token_is_inactive_and_only_its_client_can_revoke() {
    let h = harness();
    let token = access_token(&issue(&h, &[]).await.2);

    // Another client: 200, no effect.
    assert_eq!(
        revoke(&h, &basic("other", "o"), &token).await,
        StatusCode::OK
    );
    assert_eq!(introspect(&h, &token).await["active"], true);

    // Unknown / invalid tokens: still 200.
    assert_eq!(
        revoke(&h, &basic("svc", "s3cret:+&"), "not-a-token").await,
        StatusCode::OK
    );

    // Its own client.
    assert_eq!(
        revoke(&h, &basic("svc", "s3cret:+&"), &token).await,
        StatusCode::OK
    );
    assert_eq!(introspect(&h, &token).await, json!({"active": false}));

    // A fresh token is unaffected.
    let fresh = access_token(&issue(&h, &[]).await.2);
    assert_eq!(introspect(&h, &fresh).await["active"], true);

    // Revocation requires client authentication.
    let req = post(
        "/oauth2/revoke",
        Some(&basic("svc", "bad")),
        form(&[("token", &fresh)]),
    );
    assert_eq!(call(&h.router, req).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&h, &fresh).await["active"], true);
}

/// Issue 11 §8: a client introspects only the tokens issued to it, unless it holds the
/// explicit permission (`client create --introspect-any`).
#[tokio::test]
async fn a_client_introspects_only_its_own_tokens_unless_allowed_any() {
    let h = harness();
    let token = access_token(&issue(&h, &[]).await.2);
    let as_client = async |auth: &str| {
        let req = post("/oauth2/introspect", Some(auth), form(&[("token", &token)]));
        let (status, _, body) = call(&h.router, req).await;
        assert_eq!(status, StatusCode::OK);
        body
    };
    assert_eq!(
        as_client(&basic("peer", "p")).await,
        json!({"active": false}),
        "another client learns nothing"
    );
    assert_eq!(as_client(&basic("svc", "s3cret:+&")).await["active"], true);
    assert_eq!(as_client(&basic("other", "o")).await["active"], true);
}
