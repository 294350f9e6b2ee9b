//! The token endpoint: issuance, client authentication, errors.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::fakes::{
    ISSUER, KID, access_token, basic, call, form, harness, issue, post, start_time,
};

fn verify_with_jwks(
    token: &str,
    jwks: &Value,
    aud: &str,
) -> (jsonwebtoken::Header, Map<String, Value>) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[aud]);
    // The harness clock is in the future relative to the OS clock.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(
        token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    (data.header, data.claims)
}

#[tokio::test]
async fn issued_token_is_an_rfc9068_jwt_that_verifies_against_the_jwks() {
    let h = harness();
    let (status, headers, body) = issue(&h, &[("scope", "read")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::PRAGMA], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "read");

    let token = access_token(&body);
    let (jwt_header, claims) = verify_with_jwks(&token, &h.jwks, "https://api.example.test");
    assert_eq!(jwt_header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(jwt_header.kid.as_deref(), Some(KID));
    let names: BTreeSet<&str> = claims.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
    ]
    .into();
    assert_eq!(names, expected);
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["scope"], "read");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, tessera_proto::clock::unix_seconds(start_time()));
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 600);
    // 128-bit random jti, different each time.
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 22);
    let (_, _, again) = issue(&h, &[]).await;
    let (_, claims2) = verify_with_jwks(&access_token(&again), &h.jwks, "https://api.example.test");
    assert_ne!(claims2["jti"], claims["jti"]);
    assert_eq!(
        again["scope"], "read write",
        "omitted scope grants all allowed"
    );
}

#[tokio::test]
async fn client_secret_post_works_and_defaults_audience_to_issuer() {
    let h = harness();
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "other"),
        ("client_secret", "o"),
    ]);
    let (status, _, body) = call(&h.router, post("/oauth2/token", None, body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, claims) = verify_with_jwks(&access_token(&body), &h.jwks, ISSUER);
    assert_eq!(claims["aud"], ISSUER);
    assert_eq!(claims["sub"], "other");
}

#[tokio::test]
async fn wrong_secret_or_unknown_client_is_invalid_client_401() {
    let h = harness();
    let cases = [
        basic("svc", "wrong"),
        basic("nobody", "x"),
        "Bearer abc".to_owned(),
    ];
    for auth in cases {
        let req = post(
            "/oauth2/token",
            Some(&auth),
            form(&[("grant_type", "client_credentials")]),
        );
        let (status, headers, body) = call(&h.router, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].is_string());
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"tessera\"");
        assert!(!body.to_string().contains("wrong"), "never echo the secret");
    }
    let no_auth = post(
        "/oauth2/token",
        None,
        form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(call(&h.router, no_auth).await.2["error"], "invalid_client");
}

#[tokio::test]
async fn store_unavailable_is_503_server_error() {
    let h = harness();
    let req = post(
        "/oauth2/token",
        Some(&basic("broken-store", "x")),
        form(&[("grant_type", "client_credentials")]),
    );
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "server_error");
    assert!(
        !body.to_string().contains("db down"),
        "internal detail is not sent"
    );
}

#[tokio::test]
async fn both_auth_methods_at_once_is_invalid_request() {
    let h = harness();
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "svc"),
        ("client_secret", "s3cret:+&"),
    ]);
    let req = post("/oauth2/token", Some(&basic("svc", "s3cret:+&")), body);
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn scope_and_target_rules() {
    let h = harness();
    let (status, _, body) = issue(&h, &[("scope", "read admin")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (status, _, body) = issue(&h, &[("resource", "https://evil.example.test")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );
    let (status, _, body) = issue(&h, &[("audience", "https://api.example.test")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn grant_type_errors() {
    let h = harness();
    for grant in ["password", "implicit", "urn:example:unknown"] {
        let req = post(
            "/oauth2/token",
            Some(&basic("svc", "s3cret:+&")),
            form(&[("grant_type", grant), ("username", "u"), ("password", "p")]),
        );
        let (status, _, body) = call(&h.router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unsupported_grant_type", "{grant}");
    }
    let req = post("/oauth2/token", Some(&basic("svc", "s3cret:+&")), form(&[]));
    assert_eq!(call(&h.router, req).await.2["error"], "invalid_request");
    let req = post(
        "/oauth2/token",
        Some(&basic("nogrant", "n")),
        form(&[("grant_type", "client_credentials")]),
    );
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let h = harness();
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut builder = Request::post("/oauth2/token");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let req = builder
            .header(header::AUTHORIZATION, basic("svc", "s3cret:+&"))
            .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
            .unwrap();
        let (status, _, body) = call(&h.router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn iat_comes_from_the_injected_clock() {
    let h = harness();
    h.clock.advance(Duration::from_secs(30));
    let (_, _, body) = issue(&h, &[]).await;
    let (_, claims) = verify_with_jwks(&access_token(&body), &h.jwks, "https://api.example.test");
    let expected = tessera_proto::clock::unix_seconds(start_time()) + 30;
    assert_eq!(
        claims["iat"].as_i64(),
        Some(expected),
        "time comes from the injected clock"
    );
}
