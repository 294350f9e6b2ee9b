//! The logout that works: confirmation, then the redirect with `state`, the session gone;
//! the CSRF token is required; without a session only the redirect is left.

use axum::http::{StatusCode, header};

use super::fixture::{
    BYE, alice, confirmation, es256, fixture, id_token, logout_uri, signed_in, submit,
};
use crate::oauth::browser::tests::{COOKIE, ISSUER, get, post};

#[tokio::test]
async fn a_valid_hint_and_registered_uri_confirm_then_redirect_with_state_and_end_the_session() {
    let f = fixture().await;
    let session = alice(&f).await;
    let hint = id_token(&f.key, es256(), ISSUER);
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", "web"),
        ("post_logout_redirect_uri", BYE),
        ("state", "st &9"),
        ("ui_locales", "de"),
    ];
    let page = get(&f.router, &logout_uri(&params), Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<strong>Web App</strong>"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&hint),
        "the hint is not echoed into the page"
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    assert!(signed_in(&f, &session).await, "a GET ends nothing");
    let done = submit(&f, Some(&session), &confirmation(&page)).await;
    let (base, query) = done.redirect();
    assert_eq!(base, BYE);
    assert_eq!(query["state"], "st &9");
    assert_eq!(query.len(), 1);
    let cleared = done.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with(&format!("{COOKIE}=; Max-Age=0")),
        "{cleared}"
    );
    assert!(
        !signed_in(&f, &session).await,
        "the session is gone server-side"
    );
    // The RP may also POST its request: the same confirmation.
    let session = alice(&f).await;
    let posted = post(&f.router, "/oauth2/logout", Some(&session), &params).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(confirmation(&posted)[1..], confirmation(&page)[1..]);
    assert!(signed_in(&f, &session).await);
}

#[tokio::test]
async fn without_a_session_the_confirmation_still_redirects() {
    let f = fixture().await;
    let params = [("client_id", "web"), ("post_logout_redirect_uri", BYE)];
    let page = get(&f.router, &logout_uri(&params), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let done = submit(&f, None, &confirmation(&page)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.headers[header::LOCATION], BYE);
    // Without a redirect URI there is nothing to confirm.
    let plain = get(&f.router, &logout_uri(&[("client_id", "web")]), None).await;
    assert!(plain.body.contains("You are signed out."), "{}", plain.body);
}

#[tokio::test]
async fn the_confirmation_needs_the_sessions_csrf_token() {
    let f = fixture().await;
    let session = alice(&f).await;
    let params = [("client_id", "web"), ("post_logout_redirect_uri", BYE)];
    let page = get(&f.router, &logout_uri(&params), Some(&session)).await;
    let form = confirmation(&page);
    let without: Vec<_> = form
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    let refused = submit(&f, Some(&session), &without).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let mut wrong = form.clone();
    wrong[0].1 = page.field("csrf_token").chars().rev().collect();
    let refused = submit(&f, Some(&session), &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Without `confirm` it is a new request: the form again, nothing ended.
    let unconfirmed: Vec<_> = form
        .iter()
        .filter(|(k, _)| k != "confirm")
        .cloned()
        .collect();
    let again = submit(&f, Some(&session), &unconfirmed).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.headers.get(header::LOCATION).is_none());
    assert!(
        signed_in(&f, &session).await,
        "no post without the token ended it"
    );
    let done = submit(&f, Some(&session), &form).await;
    assert_eq!(done.headers[header::LOCATION], BYE);
    assert!(!signed_in(&f, &session).await);
}
