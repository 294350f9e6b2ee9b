//! OpenID Connect RP-Initiated Logout at `/oauth2/logout`: the hint is verified with the
//! server's own JWKS, the redirect URI must be registered exactly, and only the confirmed
//! form (CSRF token) ends the session.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use tessera_proto::clock::Clock;
use zeroize::Zeroizing;

use super::{
    Answer, COOKIE, Clients, ISSUER, NoClientAuth, PASSWORD, TestClock, authorize_uri, client, get,
    post, sign_in,
};
use crate::ca::Sealer;
use crate::datastore::memory::MemoryStore;
use crate::oauth::browser::{BrowserConfig, BrowserFlows};
use crate::oauth::clients::test_support::EcKey;
use crate::oauth::http::{OAuthHttpConfig, OAuthServer, SignFailure, TokenSigner};
use crate::users::{Accounts, Argon2Settings, LoginGuard, NewUser, Password};

const BYE: &str = "https://app.example/bye";
const NOW: u64 = 1_800_000_000;

/// Publishes one key; never signs (the tests sign ID tokens themselves).
struct Published(Value);

impl TokenSigner for Published {
    fn jwks(&self) -> Value {
        self.0.clone()
    }
    fn sign(
        &self,
        _: SystemTime,
        _: &serde_json::Map<String, Value>,
        _: &str,
    ) -> Result<String, SignFailure> {
        Err(SignFailure::Unavailable("test".into()))
    }
    fn signing_deadline(&self) -> Option<SystemTime> {
        None
    }
}

struct Fixture {
    router: Router,
    key: EcKey,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> =
        Arc::new(TestClock(Mutex::new(UNIX_EPOCH + Duration::from_secs(NOW))));
    let sealer = Arc::new(Sealer::open(&dir.path().join("seal.key"), true).unwrap());
    let cheap = Argon2Settings {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let store = MemoryStore::default();
    let accounts = Accounts::new(store, sealer, cheap, LoginGuard::default(), clock.clone());
    let new = NewUser {
        username: "alice".into(),
        display_name: "Alice".into(),
        email: "alice@example.test".into(),
    };
    let password = Password::new(Zeroizing::new(PASSWORD.to_string())).unwrap();
    accounts.create(new, password).await.unwrap();
    let mut web = client("web", "Web App", &["https://app.example/cb"], false);
    web.post_logout_redirect_uris = vec![BYE.into(), "http://127.0.0.1:8080/bye".into()];
    let mut first = client("first", "First", &["https://first.example/cb"], true);
    first.post_logout_redirect_uris = vec!["https://first.example/bye".into()];
    let clients = Clients([web, first].map(|c| (c.client_id.clone(), c)).into());
    let flows = BrowserFlows::new(accounts, clients, BrowserConfig::default());
    let key = EcKey::generate();
    let jwks = json!({"keys": [key.jwk(Some("k1"), Some("ES256"))]});
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        NoClientAuth,
        Published(jwks),
        clock,
    )
    .with_browser(flows);
    Fixture {
        router: server.router(),
        key,
        _dir: dir,
    }
}

/// An ID token for `web` as the server issues them, expired an hour ago (still a valid hint).
fn id_token(key: &EcKey, header: Value, iss: &str) -> String {
    let claims = json!({
        "iss": iss, "sub": "someone-else", "aud": "web", "azp": "web",
        "iat": NOW - 7200, "exp": NOW - 3600, "auth_time": NOW - 7200,
    });
    key.sign(&header, &claims)
}

fn es256() -> Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": "k1"})
}

/// Signs alice in; the session id.
async fn alice(f: &Fixture) -> String {
    let (answer, session) = sign_in(&f.router, &authorize_uri("first", &[]), None, "alice").await;
    assert!(answer.redirect().1.contains_key("code"));
    session
}

/// Whether `session` is still signed in (a first-party `prompt=none` request gets a code).
async fn signed_in(f: &Fixture, session: &str) -> bool {
    let uri = authorize_uri("first", &[("prompt", "none")]);
    get(&f.router, &uri, Some(session))
        .await
        .redirect()
        .1
        .contains_key("code")
}

fn logout_uri(params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth2/logout?{query}")
}

fn refused_page(a: &Answer, case: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{case}: {}", a.body);
    assert!(a.headers.get(header::LOCATION).is_none(), "{case}");
    assert!(a.body.contains("Sign-out error"), "{case}: {}", a.body);
}

/// An attribute value as a browser reads it.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The confirmation form's fields, as a browser posts them.
fn confirmation(page: &Answer) -> Vec<(String, String)> {
    [
        "csrf_token",
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "confirm",
    ]
    .into_iter()
    .filter(|n| page.body.contains(&format!("name=\"{n}\"")))
    .map(|n| (n.to_owned(), unescape(&page.field(n))))
    .collect()
}

async fn submit(f: &Fixture, session: Option<&str>, form: &[(String, String)]) -> Answer {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(&f.router, "/oauth2/logout", session, &pairs).await
}

#[tokio::test]
async fn unregistered_or_near_miss_post_logout_redirect_uris_get_a_page_never_a_redirect() {
    let f = fixture().await;
    let session = alice(&f).await;
    let hint = id_token(&f.key, es256(), ISSUER);
    for uri in [
        "https://evil.example/bye",
        "https://app.example/bye/evil",
        "https://app.example/byebye",
        "https://app.example/by",
        "https://app.example/bye?x=1",
        "https://app.example/bye#f",
        "HTTPS://app.example/bye",
        "http://127.0.0.1:9999/bye",
        "https://first.example/bye",
    ] {
        let with_client = [("client_id", "web"), ("post_logout_redirect_uri", uri)];
        let a = get(&f.router, &logout_uri(&with_client), Some(&session)).await;
        refused_page(&a, uri);
        let with_hint = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", uri),
        ];
        refused_page(
            &get(&f.router, &logout_uri(&with_hint), Some(&session)).await,
            uri,
        );
        let posted = post(&f.router, "/oauth2/logout", Some(&session), &with_client).await;
        refused_page(&posted, uri);
    }
    // An edited confirmation form (right CSRF token) is validated again.
    let page = get(&f.router, "/oauth2/logout", Some(&session)).await;
    let form = [
        ("csrf_token", page.field("csrf_token")),
        ("client_id", "web".to_owned()),
        (
            "post_logout_redirect_uri",
            "https://evil.example/bye".to_owned(),
        ),
        ("confirm", "yes".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    refused_page(&submit(&f, Some(&session), &form).await, "edited form");
    // A redirect URI needs a client.
    let bare = logout_uri(&[("post_logout_redirect_uri", BYE)]);
    refused_page(&get(&f.router, &bare, Some(&session)).await, "no client");
    assert!(signed_in(&f, &session).await, "nothing was ended");
}

#[tokio::test]
async fn forged_or_foreign_id_token_hints_get_an_error_page() {
    let f = fixture().await;
    let session = alice(&f).await;
    let other = EcKey::generate();
    let claims = json!({"iss": ISSUER, "sub": "x", "aud": "web", "iat": NOW, "exp": NOW + 60});
    let unsigned = format!(
        "{}.",
        crate::oauth::clients::test_support::signing_input(
            &json!({"alg": "none", "typ": "JWT", "kid": "k1"}),
            &claims
        )
    );
    let access = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    let cases = [
        ("other key", id_token(&other, es256(), ISSUER)),
        ("alg none", unsigned),
        (
            "wrong issuer",
            id_token(&f.key, es256(), "https://evil.example"),
        ),
        ("access token", id_token(&f.key, access, ISSUER)),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (case, hint) in cases {
        let params = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", BYE),
        ];
        refused_page(
            &get(&f.router, &logout_uri(&params), Some(&session)).await,
            case,
        );
    }
    // A valid hint for `web` with another client_id.
    let hint = id_token(&f.key, es256(), ISSUER);
    let params = [("id_token_hint", hint.as_str()), ("client_id", "first")];
    refused_page(
        &get(&f.router, &logout_uri(&params), Some(&session)).await,
        "mismatch",
    );
    assert!(signed_in(&f, &session).await);
}

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
