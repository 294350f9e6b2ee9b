//! `/oauth2/userinfo`: bearer tokens with `openid`, claims by scope, RFC 6750 errors.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::code_support::{CodeHarness, USER, WEB_SECRET, code_grant, code_harness};
use super::fakes::{basic, call, form, post};

async fn user_token(h: &CodeHarness, scopes: &[&str]) -> String {
    let code = h.seed(code_grant("web", scopes)).await;
    let (status, body) = h.redeem("web", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn userinfo(
    h: &CodeHarness,
    token: Option<&str>,
    method: &str,
) -> (StatusCode, String, Value) {
    let mut builder = Request::builder().method(method).uri("/oauth2/userinfo");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, headers, body) = call(&h.router, builder.body(Body::empty()).unwrap()).await;
    let challenge = headers
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, body)
}

#[tokio::test]
async fn claims_follow_the_granted_scopes() {
    let h = code_harness();
    let all = user_token(&h, &["openid", "profile", "email"]).await;
    for method in ["GET", "POST"] {
        let (status, _, body) = userinfo(&h, Some(&all), method).await;
        assert_eq!(status, StatusCode::OK, "{method}");
        assert_eq!(
            body,
            json!({
                "sub": USER,
                "name": "Alice Liddell",
                "preferred_username": "alice",
                "updated_at": 1_700_000_000,
                "email": "alice@example.test",
                "email_verified": false,
            })
        );
    }
    let only_openid = user_token(&h, &["openid"]).await;
    assert_eq!(
        userinfo(&h, Some(&only_openid), "GET").await.2,
        json!({"sub": USER})
    );
    let profile = user_token(&h, &["openid", "profile"]).await;
    let body = userinfo(&h, Some(&profile), "GET").await.2;
    assert!(body.get("email").is_none() && body["preferred_username"] == "alice");
}

#[tokio::test]
async fn without_openid_the_answer_is_insufficient_scope() {
    let h = code_harness();
    let token = user_token(&h, &["profile", "email", "read"]).await;
    let (status, challenge, body) = userinfo(&h, Some(&token), "GET").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(body.get("email").is_none() && body.get("sub").is_none());
}

#[tokio::test]
async fn missing_bad_revoked_and_orphaned_tokens_are_invalid_token() {
    let h = code_harness();
    let (status, challenge, _) = userinfo(&h, None, "GET").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let (status, challenge, _) = userinfo(&h, Some("not.a.token"), "GET").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""));

    // Revoked through /oauth2/revoke.
    let token = user_token(&h, &["openid", "profile"]).await;
    assert_eq!(userinfo(&h, Some(&token), "GET").await.0, StatusCode::OK);
    let req = post(
        "/oauth2/revoke",
        Some(&basic("web", WEB_SECRET)),
        form(&[("token", &token)]),
    );
    assert_eq!(call(&h.router, req).await.0, StatusCode::OK);
    let (status, challenge, _) = userinfo(&h, Some(&token), "GET").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""));

    // The user is gone (deleted or disabled).
    let token = user_token(&h, &["openid", "profile"]).await;
    h.profiles.0.lock().unwrap().remove(USER);
    let (status, challenge, _) = userinfo(&h, Some(&token), "GET").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn a_client_credentials_token_is_about_no_user() {
    let h = code_harness();
    let req = post(
        "/oauth2/token",
        Some(&basic("svc", "svc-secret")),
        form(&[("grant_type", "client_credentials"), ("scope", "openid")]),
    );
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    // Even when an account has the client's id.
    let mut same_id = h.profiles.0.lock().unwrap().get(USER).cloned().unwrap();
    same_id.id = "svc".into();
    h.profiles.0.lock().unwrap().insert("svc".into(), same_id);
    let (status, challenge, _) = userinfo(&h, Some(token), "GET").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""));
}

/// Issue 11 §8: a certificate-bound token (`cnf.x5t#S256`) is honoured at UserInfo only on a
/// connection presenting that certificate (RFC 8705 §3).
#[tokio::test]
async fn a_certificate_bound_token_needs_the_same_certificate() {
    use std::sync::Arc;

    use rustls::pki_types::CertificateDer;

    use super::code_support::MTLS_CERT;
    use crate::oauth::http::ClientCertificate;

    let h = code_harness();
    let code = h.seed(code_grant("mtls", &["openid", "profile"])).await;
    let (status, body) = h.redeem("mtls", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let call_with = async |cert: Option<&[u8]>| {
        let mut request = Request::builder()
            .uri("/oauth2/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        if let Some(der) = cert {
            let chain = vec![CertificateDer::from(der.to_vec())];
            request
                .extensions_mut()
                .insert(ClientCertificate(Arc::new(chain)));
        }
        let (status, headers, body) = call(&h.router, request).await;
        let challenge = headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, challenge, body)
    };
    let (status, _, body) = call_with(Some(MTLS_CERT)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], USER);
    for cert in [None, Some(&b"another certificate"[..])] {
        let (status, challenge, body) = call_with(cert).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{cert:?}");
        assert_eq!(body["error"], "invalid_token");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
}
