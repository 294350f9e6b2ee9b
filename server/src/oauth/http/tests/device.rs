//! Device authorization grant (RFC 8628) through the router: issuing, polling, approval.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::Value;

use super::code_support::{CodeHarness, USER, code_harness};
use super::fakes::{ISSUER, call, form, post};
use crate::oauth::device::{Approval, DEVICE_CODE_GRANT};

async fn authorize(h: &CodeHarness, client_id: &str, scope: &str) -> (StatusCode, Value) {
    let req = post(
        "/oauth2/device_authorization",
        None,
        form(&[("client_id", client_id), ("scope", scope)]),
    );
    let (status, headers, body) = call(&h.router, req).await;
    if status == StatusCode::OK {
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
    (status, body)
}

async fn poll(h: &CodeHarness, client_id: &str, device_code: &str) -> (StatusCode, Value) {
    let pairs = [
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", device_code),
        ("client_id", client_id),
    ];
    let (status, _, body) = call(&h.router, post("/oauth2/token", None, form(&pairs))).await;
    (status, body)
}

fn advance(h: &CodeHarness, secs: u64) {
    let mut now = h.clock.0.lock().unwrap();
    *now += Duration::from_secs(secs);
}

async fn approve(h: &CodeHarness, user_code: &str) {
    let now = *h.clock.0.lock().unwrap();
    let approval = Approval {
        user_id: USER.into(),
        auth_time: 1_799_999_990,
        amr: vec!["pwd".into()],
    };
    assert!(
        h.server
            .device_codes()
            .approve(user_code, approval, now)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn device_authorization_answers_codes_and_uris() {
    let h = code_harness();
    let (status, body) = authorize(&h, "tv", "openid read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(body["device_code"].as_str().unwrap().len() >= 43);
    assert_eq!(body["verification_uri"], format!("{ISSUER}/oauth2/device"));
    assert_eq!(
        body["verification_uri_complete"],
        format!("{ISSUER}/oauth2/device?user_code={user_code}")
    );
    assert_eq!(
        (body["expires_in"].as_u64(), body["interval"].as_u64()),
        (Some(600), Some(5))
    );
}

#[tokio::test]
async fn device_authorization_checks_grant_and_scope() {
    let h = code_harness();
    let (status, body) = authorize(&h, "spa", "openid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
    let (status, body) = authorize(&h, "tv", "openid admin").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    let (status, _) = authorize(&h, "nobody", "openid").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn polling_is_pending_then_slow_down_then_tokens_once() {
    let h = code_harness();
    let (_, body) = authorize(&h, "tv", "openid read").await;
    let device_code = body["device_code"].as_str().unwrap().to_owned();
    let user_code = body["user_code"].as_str().unwrap().to_owned();
    let (status, body) = poll(&h, "tv", &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );
    advance(&h, 1);
    let (_, body) = poll(&h, "tv", &device_code).await;
    assert_eq!(body["error"], "slow_down");
    advance(&h, 10);
    approve(&h, &user_code).await;
    // Another client cannot use the approved code, and does not spend it.
    let (status, body) = poll(&h, "tv2", &device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = poll(&h, "spa", &device_code).await;
    assert_eq!(
        body["error"], "unauthorized_client",
        "client without the grant"
    );
    let (status, body) = poll(&h, "tv", &device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().is_some());
    assert!(body["id_token"].as_str().is_some(), "openid granted");
    assert_eq!(body["scope"], "openid read");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert!(h.active(&access).await);
    advance(&h, 10);
    let (status, body) = poll(&h, "tv", &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The replay revoked what the device code had issued (RFC 8628 §5.6 leaves it open;
    // done as for a replayed authorization code).
    assert!(
        !h.active(&access).await,
        "access token revoked by the replay"
    );
}

#[tokio::test]
async fn denied_and_expired_codes_are_reported() {
    let h = code_harness();
    let (_, body) = authorize(&h, "tv", "read").await;
    let denied = body["device_code"].as_str().unwrap().to_owned();
    let now = *h.clock.0.lock().unwrap();
    assert!(
        h.server
            .device_codes()
            .deny(body["user_code"].as_str().unwrap(), now)
            .await
            .unwrap()
    );
    let (_, body) = poll(&h, "tv", &denied).await;
    assert_eq!(body["error"], "access_denied");
    let (_, body) = authorize(&h, "tv", "read").await;
    let expiring = body["device_code"].as_str().unwrap().to_owned();
    advance(&h, 600);
    let (_, body) = poll(&h, "tv", &expiring).await;
    assert_eq!(body["error"], "expired_token");
}

#[tokio::test]
async fn discovery_announces_the_device_endpoint() {
    let h = code_harness();
    let req = axum::http::Request::get("/.well-known/openid-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    let (_, _, body) = call(&h.router, req).await;
    assert_eq!(
        body["device_authorization_endpoint"],
        format!("{ISSUER}/oauth2/device_authorization")
    );
    let grants = body["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == DEVICE_CODE_GRANT));
}
