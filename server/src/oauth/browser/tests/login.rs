//! Login, TOTP, consent and logout.

use axum::http::{StatusCode, header};

use axum::Router;

use super::{Answer, ISSUER, PASSWORD, authorize_uri, fixture, get, post, sign_in};
use crate::users::{hotp, step_of};

const WEB_CB: &str = "https://app.example/cb";

fn web(extra: &[(&str, &str)]) -> String {
    let mut all = vec![("redirect_uri", WEB_CB), ("nonce", "n-1")];
    all.extend_from_slice(extra);
    authorize_uri("web", &all)
}

#[tokio::test]
async fn sign_in_then_consent_issues_a_code_and_the_session_id_changes() {
    let f = fixture().await;
    let page = get(&f.router, &web(&[]), None).await;
    let before = page.cookie().unwrap();
    let (consent, after) = sign_in(&f.router, &web(&[]), Some(&before), "alice").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("Approve"), "{}", consent.body);
    assert!(consent.body.contains("<li>openid</li><li>profile</li>"));
    assert_ne!(
        before, after,
        "session fixation: the id must change at sign-in"
    );
    // The pre-login id is dead.
    let old = get(&f.router, &web(&[("prompt", "none")]), Some(&before)).await;
    assert_eq!(old.redirect().1["error"], "login_required");
    let approved = decide(&f.router, &after, &consent, "approve").await;
    let (base, params) = approved.redirect();
    assert_eq!(base, WEB_CB);
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["code"].len(), 43);
    // The consent form's request is spent.
    let again = decide(&f.router, &after, &consent, "approve").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    // Remembered: the next request (even prompt=none) gets a code at once.
    for extra in [&[][..], &[("prompt", "none")][..]] {
        let a = get(&f.router, &web(extra), Some(&after)).await;
        assert!(a.redirect().1.contains_key("code"), "{extra:?}");
    }
    // A scope not yet approved asks again; prompt=none then says consent_required.
    let more = web(&[("prompt", "none")]).replace("scope=openid+profile", "scope=openid+email");
    assert_eq!(
        get(&f.router, &more, Some(&after)).await.redirect().1["error"],
        "consent_required"
    );
    // prompt=login shows the login page despite the session.
    let relogin = get(&f.router, &web(&[("prompt", "login")]), Some(&after)).await;
    assert!(relogin.body.contains("name=\"password\""));
}

/// Posts the consent page's form with `decision` (`approve` or `deny`).
async fn decide(router: &Router, session: &str, consent: &Answer, decision: &str) -> Answer {
    let pairs = [
        ("csrf_token", consent.field("csrf_token")),
        ("request_id", consent.field("request_id")),
        ("decision", decision.to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(router, "/oauth2/consent", Some(session), &pairs).await
}

#[tokio::test]
async fn denying_consent_is_access_denied() {
    let f = fixture().await;
    let (consent, session) = sign_in(&f.router, &web(&[]), None, "alice").await;
    let denied = decide(&f.router, &session, &consent, "deny").await;
    let (_, params) = denied.redirect();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
    // Nothing remembered.
    let a = get(&f.router, &web(&[("prompt", "none")]), Some(&session)).await;
    assert_eq!(a.redirect().1["error"], "consent_required");
}

#[tokio::test]
async fn first_party_clients_skip_consent() {
    let f = fixture().await;
    let (answer, _) = sign_in(&f.router, &authorize_uri("first", &[]), None, "bob").await;
    let (base, params) = answer.redirect();
    assert_eq!(base, "https://first.example/cb");
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn form_posts_without_the_csrf_token_are_refused() {
    let f = fixture().await;
    let page = get(&f.router, &web(&[]), None).await;
    let session = page.cookie().unwrap();
    let request_id = page.field("request_id");
    let base = [
        ("request_id", request_id.as_str()),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let missing = post(&f.router, "/oauth2/login", Some(&session), &base).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut wrong = base.to_vec();
    wrong.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        post(&f.router, "/oauth2/login", Some(&session), &wrong)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The right token without the session cookie (a cross-site post) is refused too.
    let mut right = base.to_vec();
    let csrf = page.field("csrf_token");
    right.push(("csrf_token", &csrf));
    assert_eq!(
        post(&f.router, "/oauth2/login", None, &right).await.status,
        StatusCode::FORBIDDEN
    );
    for path in ["/oauth2/consent", "/oauth2/login/totp", "/oauth2/logout"] {
        let a = post(
            &f.router,
            path,
            Some(&session),
            &[("request_id", &request_id)],
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Still not signed in.
    let a = get(&f.router, &web(&[("prompt", "none")]), Some(&session)).await;
    assert_eq!(a.redirect().1["error"], "login_required");
}

async fn attempt(f: &super::Fixture, user: &str, password: &str) -> super::Answer {
    let page = get(&f.router, &web(&[]), None).await;
    let session = page.cookie().unwrap();
    post(
        &f.router,
        "/oauth2/login",
        Some(&session),
        &[
            ("csrf_token", &page.field("csrf_token")),
            ("request_id", &page.field("request_id")),
            ("username", user),
            ("password", password),
        ],
    )
    .await
}

fn without_tokens(a: &super::Answer) -> String {
    a.body
        .replace(&a.field("csrf_token"), "CSRF")
        .replace(&a.field("request_id"), "REQ")
}

#[tokio::test]
async fn unknown_and_known_usernames_get_the_same_answer() {
    let f = fixture().await;
    let known = attempt(&f, "alice", "wrong password!").await;
    let unknown = attempt(&f, "mallory", "wrong password!").await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(without_tokens(&known), without_tokens(&unknown));
    assert!(known.body.contains("Invalid username or password."));
    assert!(
        known.cookie().is_none() && unknown.cookie().is_none(),
        "no new session on failure"
    );
}

#[tokio::test]
async fn brute_force_is_throttled_with_429_and_retry_after() {
    let f = fixture().await;
    let mut throttled = None;
    for _ in 0..30 {
        let a = attempt(&f, "alice", "guess guess guess").await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(a);
            break;
        }
        assert_eq!(a.status, StatusCode::OK);
    }
    let a = throttled.expect("throttled within 30 attempts");
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert!(a.body.contains("Too many attempts"));
    // Even the right password is refused while throttled.
    let right = attempt(&f, "alice", PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn totp_is_asked_after_the_password() {
    let f = fixture().await;
    let (_, uri) = f.accounts.enable_totp("alice").await.unwrap();
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let (page, session) = sign_in(&f.router, &authorize_uri("first", &[]), None, "alice").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"code\""), "{}", page.body);
    assert!(
        page.cookie().is_none(),
        "not signed in before the second factor"
    );
    let form = |code: String| {
        vec![
            ("csrf_token", page.field("csrf_token")),
            ("request_id", page.field("request_id")),
            ("code", code),
        ]
    };
    let post_code = |code: String| {
        let pairs = form(code);
        let router = f.router.clone();
        let session = session.clone();
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&router, "/oauth2/login/totp", Some(&session), &refs).await
        }
    };
    let wrong = post_code("not-a-code".into()).await;
    assert!(wrong.body.contains("Invalid code."));
    let now = tessera_proto::clock::unix_seconds(f.clock.now());
    let code = format!("{:06}", hotp(&key, step_of(now), 6));
    let done = post_code(code).await;
    let (base, params) = done.redirect();
    assert_eq!(base, "https://first.example/cb");
    assert!(params.contains_key("code"));
    assert!(done.cookie().is_some_and(|c| c != session));
}

#[tokio::test]
async fn logout_needs_the_csrf_token_and_ends_the_session() {
    let f = fixture().await;
    let (_, session) = sign_in(&f.router, &authorize_uri("first", &[]), None, "bob").await;
    let page = get(&f.router, "/oauth2/logout", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.field("csrf_token");
    let forged = post(&f.router, "/oauth2/logout", Some(&session), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let first = authorize_uri("first", &[("prompt", "none")]);
    assert!(
        get(&f.router, &first, Some(&session))
            .await
            .redirect()
            .1
            .contains_key("code")
    );
    let out = post(
        &f.router,
        "/oauth2/logout",
        Some(&session),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    let cleared = out.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let after = get(&f.router, &first, Some(&session)).await;
    assert_eq!(after.redirect().1["error"], "login_required");
}

/// Issue 11 §12: a browser form trickled past the body deadline gets a 408 page.
#[tokio::test(start_paused = true)]
async fn a_stalled_form_is_refused_after_the_body_deadline() {
    let f = fixture().await;
    let first: Result<Vec<u8>, std::io::Error> = Ok(b"csrf_token=".to_vec());
    let stream =
        tokio_stream::StreamExt::chain(tokio_stream::iter([first]), tokio_stream::pending());
    let request = axum::http::Request::post("/oauth2/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from_stream(stream))
        .unwrap();
    let started = tokio::time::Instant::now();
    let a = super::send(&f.router, request).await;
    assert_eq!(a.status, StatusCode::REQUEST_TIMEOUT, "{}", a.body);
    assert_eq!(
        started.elapsed(),
        std::time::Duration::from_secs(10),
        "the default deadline"
    );
    assert!(a.body.contains("did not arrive in time"));
}
