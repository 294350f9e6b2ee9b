//! The device pages (RFC 8628 §3.3): code entry, confirm, approve/deny, CSRF, attempt limit.

use axum::http::StatusCode;

use super::{ISSUER, PASSWORD, authorize_uri, fixture, get, post, sign_in};
use crate::oauth::device::Poll;

/// Signs `alice` in; returns the session id.
async fn signed_in(f: &super::Fixture) -> String {
    let uri = authorize_uri("web", &[("redirect_uri", "https://app.example/cb")]);
    sign_in(&f.router, &uri, None, "alice").await.1
}

#[tokio::test]
async fn without_a_session_the_login_page_comes_first_then_the_device_page() {
    let f = fixture().await;
    // Issue 11 §11: a plain anonymous GET creates no session: a sign-in button.
    let start = get(&f.router, "/oauth2/device?user_code=bcdf-ghjk", None).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert_eq!(start.cookie(), None, "no session for an anonymous GET");
    assert!(!start.body.contains("name=\"password\""), "{}", start.body);
    assert_eq!(start.field("sign_in"), "1");
    assert_eq!(start.field("user_code"), "bcdf-ghjk");
    let sessions = f
        .state
        .expiring_held(crate::datastore::ExpiringKind::BrowserSession);
    assert_eq!(sessions, 0);
    let page = get(
        &f.router,
        "/oauth2/device?user_code=bcdf-ghjk&sign_in=1",
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    let session = page.cookie().unwrap();
    let signed = post(
        &f.router,
        "/oauth2/login",
        Some(&session),
        &[
            ("csrf_token", &page.field("csrf_token")),
            ("request_id", &page.field("request_id")),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let (base, params) = signed.redirect();
    assert_eq!(base, format!("{ISSUER}/oauth2/device"));
    assert_eq!(params["user_code"], "BCDF-GHJK", "normalised");
    let session = signed.cookie().unwrap();
    let entry = get(
        &f.router,
        "/oauth2/device?user_code=BCDF-GHJK",
        Some(&session),
    )
    .await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(
        entry
            .body
            .contains("name=\"user_code\" value=\"BCDF-GHJK\"")
    );
}

#[tokio::test]
async fn entering_the_code_and_approving_lets_the_device_get_tokens() {
    let f = fixture().await;
    let session = signed_in(&f).await;
    let codes = f.server.device_codes();
    let issued = codes
        .issue("tv", vec!["openid".into(), "read".into()], f.clock.now())
        .await
        .unwrap();
    let uri = format!("/oauth2/device?user_code={}", issued.user_code);
    let entry = get(&f.router, &uri, Some(&session)).await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.body);
    assert!(entry.body.contains(&issued.user_code), "prefilled");
    let csrf = entry.field("csrf_token");
    let typed = issued.user_code.to_lowercase().replace('-', " ");
    // Without the CSRF token: refused, nothing decided.
    let forged = [("user_code", typed.as_str()), ("decision", "approve")];
    let refused = post(&f.router, "/oauth2/device", Some(&session), &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let confirm = post(
        &f.router,
        "/oauth2/device",
        Some(&session),
        &[("csrf_token", &csrf), ("user_code", &typed)],
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("<strong>tv</strong>"));
    assert!(confirm.body.contains("<li>openid</li><li>read</li>"));
    assert_eq!(
        codes
            .poll(&issued.device_code, "tv", f.clock.now())
            .await
            .unwrap(),
        Poll::Pending
    );
    let done = post(
        &f.router,
        "/oauth2/device",
        Some(&session),
        &[
            ("csrf_token", &confirm.field("csrf_token")),
            ("user_code", &confirm.field("user_code")),
            ("decision", "approve"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    match codes
        .poll(&issued.device_code, "tv", f.clock.now())
        .await
        .unwrap()
    {
        Poll::Approved(grant) => assert!(!grant.approval.user_id.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn denying_is_reported_to_the_device() {
    let f = fixture().await;
    let session = signed_in(&f).await;
    let codes = f.server.device_codes();
    let issued = codes.issue("tv", vec![], f.clock.now()).await.unwrap();
    let entry = get(&f.router, "/oauth2/device", Some(&session)).await;
    let form = [
        ("csrf_token", entry.field("csrf_token")),
        ("user_code", issued.user_code.clone()),
        ("decision", "deny".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = post(&f.router, "/oauth2/device", Some(&session), &form).await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(
        codes
            .poll(&issued.device_code, "tv", f.clock.now())
            .await
            .unwrap(),
        Poll::Denied
    );
}

#[tokio::test]
async fn wrong_codes_are_limited_per_session() {
    let f = fixture().await;
    let session = signed_in(&f).await;
    let issued = f
        .server
        .device_codes()
        .issue("tv", vec![], f.clock.now())
        .await
        .unwrap();
    let entry = get(&f.router, "/oauth2/device", Some(&session)).await;
    let csrf = entry.field("csrf_token");
    for _ in 0..5 {
        let wrong = post(
            &f.router,
            "/oauth2/device",
            Some(&session),
            &[("csrf_token", &csrf), ("user_code", "BBBB-BBBB")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(wrong.body.contains("role=\"alert\""));
    }
    // Even the right code is refused now.
    let right = post(
        &f.router,
        "/oauth2/device",
        Some(&session),
        &[("csrf_token", &csrf), ("user_code", &issued.user_code)],
    )
    .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}
