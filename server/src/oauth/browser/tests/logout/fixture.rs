//! The logout tests' server: a key the OAuth JWKS publishes (the tests sign ID tokens with
//! it), a client with registered post-logout URIs, and browser helpers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use tessera_proto::clock::Clock;
use zeroize::Zeroizing;

use super::super::{
    Answer, Clients, ISSUER, NoClientAuth, PASSWORD, TestClock, authorize_uri, client, get, post,
    sign_in,
};
use crate::ca::Sealer;
use crate::datastore::memory::MemoryStore;
use crate::oauth::browser::{BrowserConfig, BrowserFlows, StoreConsents};
use crate::oauth::clients::test_support::EcKey;
use crate::oauth::http::{OAuthHttpConfig, OAuthServer, SignFailure, TokenSigner};
use crate::users::{Accounts, Argon2Settings, LoginGuard, NewUser, Password};

pub(super) const BYE: &str = "https://app.example/bye";
pub(super) const NOW: u64 = 1_800_000_000;

/// Publishes one key; never signs (the tests sign ID tokens themselves).
pub(super) struct Published(Value);

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

pub(super) struct Fixture {
    pub(super) router: Router,
    pub(super) key: EcKey,
    _dir: tempfile::TempDir,
}

pub(super) async fn fixture() -> Fixture {
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
    let accounts = Accounts::new(
        store.clone(),
        sealer,
        cheap,
        LoginGuard::default(),
        clock.clone(),
    );
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
    let state = std::sync::Arc::new(store.clone());
    let flows = BrowserFlows::new(
        accounts,
        clients,
        StoreConsents(store),
        state.clone(),
        BrowserConfig::default(),
    );
    let key = EcKey::generate();
    let jwks = json!({"keys": [key.jwk(Some("k1"), Some("ES256"))]});
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        NoClientAuth,
        Published(jwks),
        state,
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
pub(super) fn id_token(key: &EcKey, header: Value, iss: &str) -> String {
    let claims = json!({
        "iss": iss, "sub": "someone-else", "aud": "web", "azp": "web",
        "iat": NOW - 7200, "exp": NOW - 3600, "auth_time": NOW - 7200,
    });
    key.sign(&header, &claims)
}

pub(super) fn es256() -> Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": "k1"})
}

/// Signs alice in; the session id.
pub(super) async fn alice(f: &Fixture) -> String {
    let (answer, session) = sign_in(&f.router, &authorize_uri("first", &[]), None, "alice").await;
    assert!(answer.redirect().1.contains_key("code"));
    session
}

/// Whether `session` is still signed in (a first-party `prompt=none` request gets a code).
pub(super) async fn signed_in(f: &Fixture, session: &str) -> bool {
    let uri = authorize_uri("first", &[("prompt", "none")]);
    get(&f.router, &uri, Some(session))
        .await
        .redirect()
        .1
        .contains_key("code")
}

pub(super) fn logout_uri(params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth2/logout?{query}")
}

pub(super) fn refused_page(a: &Answer, case: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{case}: {}", a.body);
    assert!(a.headers.get(header::LOCATION).is_none(), "{case}");
    assert!(a.body.contains("Sign-out error"), "{case}: {}", a.body);
}

/// An attribute value as a browser reads it.
pub(super) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The confirmation form's fields, as a browser posts them.
pub(super) fn confirmation(page: &Answer) -> Vec<(String, String)> {
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

pub(super) async fn submit(
    f: &Fixture,
    session: Option<&str>,
    form: &[(String, String)],
) -> Answer {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(&f.router, "/oauth2/logout", session, &pairs).await
}
