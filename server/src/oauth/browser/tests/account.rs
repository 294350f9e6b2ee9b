//! Issue 11 §1: a signed-in browser session ends at once when its account is disabled,
//! deleted or given a new password; every authorize, consent and device step re-checks.

use axum::http::StatusCode;
use zeroize::Zeroizing;

use super::{Fixture, authorize_uri, fixture, get, post, sign_in};
use crate::users::Password;

const FIRST: &str = "https://first.example/cb";
const WEB_CB: &str = "https://app.example/cb";

/// Signs alice in at the first-party client (no consent): the session id.
async fn signed_in(f: &Fixture) -> String {
    let (answer, session) = sign_in(&f.router, &authorize_uri("first", &[]), None, "alice").await;
    let (base, params) = answer.redirect();
    assert_eq!(base, FIRST);
    assert!(params.contains_key("code"));
    session
}

/// What happens to the account between two requests.
#[derive(Debug, Clone, Copy)]
enum Change {
    Disable,
    Delete,
    SetPassword,
}

async fn apply(f: &Fixture, change: Change) {
    match change {
        Change::Disable => {
            f.accounts.set_disabled("alice", true).await.unwrap();
        }
        Change::Delete => {
            f.accounts.delete("alice").await.unwrap();
        }
        Change::SetPassword => {
            let pw = Password::new(Zeroizing::new("a brand new password".into())).unwrap();
            f.accounts.set_password("alice", pw).await.unwrap();
        }
    }
}

const CHANGES: [Change; 3] = [Change::Disable, Change::Delete, Change::SetPassword];

#[tokio::test]
async fn authorize_after_the_account_changed_asks_to_sign_in_again() {
    for change in CHANGES {
        let f = fixture().await;
        let session = signed_in(&f).await;
        // Still live: a code at once.
        let again = get(&f.router, &authorize_uri("first", &[]), Some(&session)).await;
        assert!(again.redirect().1.contains_key("code"), "{change:?}");
        apply(&f, change).await;
        let none = authorize_uri("first", &[("prompt", "none")]);
        let a = get(&f.router, &none, Some(&session)).await;
        let (base, params) = a.redirect();
        assert_eq!(base, FIRST, "{change:?}");
        assert_eq!(params["error"], "login_required", "{change:?}");
        assert!(!params.contains_key("code"), "{change:?}");
        let a = get(&f.router, &authorize_uri("first", &[]), Some(&session)).await;
        assert_eq!(a.status, StatusCode::OK, "{change:?}: {}", a.body);
        assert!(a.body.contains("name=\"password\""), "{change:?}");
        assert!(
            a.cookie().is_some_and(|c| c != session),
            "{change:?}: the ended session is replaced by a new anonymous one"
        );
    }
}

#[tokio::test]
async fn consent_after_the_account_changed_is_refused() {
    for change in CHANGES {
        let f = fixture().await;
        let uri = authorize_uri("web", &[("redirect_uri", WEB_CB)]);
        let (consent, session) = sign_in(&f.router, &uri, None, "alice").await;
        assert!(consent.body.contains("Approve"), "{}", consent.body);
        apply(&f, change).await;
        let a = post(
            &f.router,
            "/oauth2/consent",
            Some(&session),
            &[
                ("csrf_token", &consent.field("csrf_token")),
                ("request_id", &consent.field("request_id")),
                ("decision", "approve"),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{change:?}: {}", a.body);
        assert!(a.body.contains("Your sign-in ended"), "{change:?}");
    }
}

#[tokio::test]
async fn device_steps_after_the_account_changed_are_refused() {
    for change in CHANGES {
        let f = fixture().await;
        let session = signed_in(&f).await;
        let issued = f
            .server
            .device_codes()
            .issue("tv", vec!["openid".into()], f.clock.now())
            .await
            .unwrap();
        let uri = format!("/oauth2/device?user_code={}", issued.user_code);
        let entry = get(&f.router, &uri, Some(&session)).await;
        assert_eq!(entry.status, StatusCode::OK);
        let csrf = entry.field("csrf_token");
        apply(&f, change).await;
        let a = post(
            &f.router,
            "/oauth2/device",
            Some(&session),
            &[
                ("csrf_token", &csrf),
                ("user_code", &issued.user_code),
                ("decision", "approve"),
            ],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{change:?}: {}", a.body);
        assert_eq!(
            f.server
                .device_codes()
                .poll(&issued.device_code, "tv", f.clock.now())
                .await
                .unwrap(),
            crate::oauth::device::Poll::Pending,
            "{change:?}: nothing approved"
        );
        // The device page now asks to sign in.
        let page = get(&f.router, &format!("{uri}&sign_in=1"), Some(&session)).await;
        assert!(page.body.contains("name=\"password\""), "{change:?}");
    }
}
