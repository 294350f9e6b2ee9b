//! Audit events: emitted for each decision, never carrying secrets or tokens.

use axum::http::StatusCode;

use super::fakes::{access_token, basic, call, form, harness, issue, post};
use crate::test_support::capture_log;

#[tokio::test(flavor = "current_thread")]
async fn audit_events_name_the_decision_and_never_the_secret_or_token() {
    let (capture, _guard) = capture_log();

    let h = harness();
    let (status, _, body) = issue(&h, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let token = access_token(&body);
    let bad = post(
        "/oauth2/token",
        Some(&basic("svc", "guess-XYZ")),
        form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(call(&h.router, bad).await.0, StatusCode::UNAUTHORIZED);
    let intro = post(
        "/oauth2/introspect",
        Some(&basic("svc", "s3cret:+&")),
        form(&[("token", &token)]),
    );
    assert_eq!(call(&h.router, intro).await.0, StatusCode::OK);
    let rev = post(
        "/oauth2/revoke",
        Some(&basic("svc", "s3cret:+&")),
        form(&[("token", &token)]),
    );
    assert_eq!(call(&h.router, rev).await.0, StatusCode::OK);

    let log = capture.text();
    for event in [
        "oauth_token_issued",
        "oauth_token_refused",
        "oauth_introspect",
        "oauth_revoke",
    ] {
        let line = log.lines().find(|l| l.contains(event)).unwrap_or_default();
        assert!(line.contains("tessera::audit"), "{event}: {log}");
        assert!(line.contains("client_id=\"svc\""), "{event}: {line}");
        assert!(line.contains("decision="), "{event}: {line}");
        assert!(line.contains("reason="), "{event}: {line}");
    }
    assert!(log.contains("reason=\"invalid_client\"") || log.contains("reason=invalid_client"));
    assert!(!log.contains("s3cret"), "secret leaked: {log}");
    assert!(!log.contains("guess-XYZ"), "presented secret leaked: {log}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "token leaked: {log}");
}
