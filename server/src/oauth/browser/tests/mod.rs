//! Router-level tests of the browser flows (tower `oneshot`, real `Accounts` over the
//! in-memory store, fake clients).

mod account;
mod authorize;
mod device;
mod login;
mod logout;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::json;
use tessera_proto::clock::Clock;
use tower::ServiceExt as _;
use zeroize::Zeroizing;

use super::{BoxFuture, BrowserConfig, BrowserFlows, ClientDirectory, StoreConsents};
use crate::ca::Sealer;
use crate::datastore::memory::MemoryStore;
use crate::oauth::clients::{AuthMethod, Client};
use crate::oauth::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, OAuthHttpConfig,
    OAuthServer, PresentedCredentials, SignFailure, TokenSigner,
};
use crate::users::{Accounts, Argon2Settings, LoginGuard, NewUser, Password};

pub(super) const ISSUER: &str = "https://auth.example.test";
pub(super) const COOKIE: &str = "__Host-tessera-session";
pub(super) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(super) const PASSWORD: &str = "correct horse battery";

#[derive(Debug)]
struct TestClock(Mutex<SystemTime>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct NoClientAuth;

impl ClientAuthenticator for NoClientAuth {
    async fn authenticate(
        &self,
        _presented: &PresentedCredentials,
        _context: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        Err(ClientAuthFailure::Invalid)
    }

    async fn use_once(
        &self,
        _client_id: &str,
        _single_use: &crate::oauth::http::SingleUse,
        _now: std::time::SystemTime,
    ) -> Result<(), ClientAuthFailure> {
        Ok(())
    }
}

struct NoSigner;

impl TokenSigner for NoSigner {
    fn jwks(&self) -> serde_json::Value {
        json!({"keys": []})
    }
    fn sign(
        &self,
        _now: SystemTime,
        _claims: &serde_json::Map<String, serde_json::Value>,
        _typ: &str,
    ) -> Result<String, SignFailure> {
        Err(SignFailure::Unavailable("test".into()))
    }
    fn signing_deadline(&self) -> Option<SystemTime> {
        None
    }
}

struct Clients(HashMap<String, Client>);

impl ClientDirectory for Clients {
    fn client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Client>, String>> {
        Box::pin(async move { Ok(self.0.get(id).cloned()) })
    }
}

fn client(id: &str, name: &str, redirect_uris: &[&str], first_party: bool) -> Client {
    Client {
        client_id: id.into(),
        name: name.into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        audiences: vec![],
        redirect_uris: redirect_uris.iter().map(|s| (*s).to_string()).collect(),
        post_logout_redirect_uris: vec![],
        auth_method: AuthMethod::None,
        spiffe_id: None,
        jwks: None,
        tls_subject_dn: None,
        tls_trust_domain: None,
        access_token_ttl: None,
        public: true,
        first_party,
        enabled: true,
        created_at: 0,
        secret_rotated_at: 0,
        introspect_any: false,
    }
}

pub(super) struct Fixture {
    pub(super) router: Router,
    pub(super) accounts: Accounts<MemoryStore>,
    pub(super) clock: Arc<dyn Clock>,
    server: OAuthServer<NoClientAuth, NoSigner>,
    /// Sessions, codes and device codes.
    pub(super) state: MemoryStore,
    _dir: tempfile::TempDir,
}

pub(super) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(TestClock(Mutex::new(
        UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    )));
    let sealer = Arc::new(Sealer::open(&dir.path().join("seal.key"), true).unwrap());
    let cheap = Argon2Settings {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let accounts = Accounts::new(
        MemoryStore::default(),
        sealer,
        cheap,
        LoginGuard::default(),
        clock.clone(),
    );
    for name in ["alice", "bob"] {
        let new = NewUser {
            username: name.into(),
            display_name: name.into(),
            email: format!("{name}@example.test"),
        };
        let password = Password::new(Zeroizing::new(PASSWORD.to_string())).unwrap();
        accounts.create(new, password).await.unwrap();
    }
    let mut machine = client("machine", "M", &["https://m.example/cb"], false);
    machine.grant_types = vec!["client_credentials".into()];
    let mut disabled = client("disabled", "D", &["https://d.example/cb"], false);
    disabled.enabled = false;
    let clients = [
        client(
            "web",
            "Web <script>alert(1)</script>",
            &["https://app.example/cb", "http://127.0.0.1:8080/cb"],
            false,
        ),
        client("first", "First", &["https://first.example/cb"], true),
        machine,
        disabled,
    ];
    let clients = Clients(
        clients
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect(),
    );
    let state = MemoryStore::default();
    let flows = BrowserFlows::new(
        accounts.clone(),
        clients,
        StoreConsents(MemoryStore::default()),
        Arc::new(state.clone()),
        BrowserConfig::default(),
    );
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        NoClientAuth,
        NoSigner,
        Arc::new(state.clone()),
        clock.clone(),
    )
    .with_browser(flows);
    Fixture {
        router: server.router(),
        accounts,
        clock,
        server,
        state,
        _dir: dir,
    }
}

/// A response: status, headers, body text.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Answer {
    /// The session id this answer sets, if any.
    pub(super) fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{COOKIE}=")))
            .map(|v| v.split(';').next().unwrap().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The value of the hidden field `name`.
    pub(super) fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{name} in {}", self.body));
        let rest = &self.body[start + marker.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The 303 target, split into (base, query parameters).
    pub(super) fn redirect(&self) -> (String, HashMap<String, String>) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        let location = self.headers[header::LOCATION].to_str().unwrap();
        let (base, query) = location.split_once('?').unwrap();
        let params = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        (base.to_string(), params)
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// `GET uri` with the session cookie `session`.
pub(super) async fn get(router: &Router, uri: &str, session: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(s) = session {
        request = request.header(header::COOKIE, format!("{COOKIE}={s}"));
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

/// `POST path` with a form.
pub(super) async fn post(
    router: &Router,
    path: &str,
    session: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(s) = session {
        request = request.header(header::COOKIE, format!("{COOKIE}={s}"));
    }
    send(router, request.body(Body::from(body)).unwrap()).await
}

/// `/oauth2/authorize?…` for `client_id` with PKCE, `state` and `extra`.
pub(super) fn authorize_uri(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", "openid profile")
        .append_pair("state", "st-1")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

/// Starts a flow and signs in as `user`: (answer after the password, session id).
pub(super) async fn sign_in(
    router: &Router,
    uri: &str,
    session: Option<&str>,
    user: &str,
) -> (Answer, String) {
    let page = get(router, uri, session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let session = page.cookie().or(session.map(str::to_owned)).unwrap();
    let answer = post(
        router,
        "/oauth2/login",
        Some(&session),
        &[
            ("csrf_token", &page.field("csrf_token")),
            ("request_id", &page.field("request_id")),
            ("username", user),
            ("password", PASSWORD),
        ],
    )
    .await;
    let new = answer.cookie().unwrap_or(session);
    (answer, new)
}
