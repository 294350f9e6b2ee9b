//! A harness for the authorization code grant and UserInfo: a confidential and a public
//! client, user profiles, and codes seeded as the browser flow would issue them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::fakes::{FakeSigner, ISSUER, ManualClock, basic, call, client, form, post, start_time};
use crate::oauth::codes::CodeGrant;
use crate::oauth::device::DEVICE_CODE_GRANT;
use crate::oauth::http::pkce::challenge_of;
use crate::oauth::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, OAuthHttpConfig,
    OAuthServer, PresentedCredentials, ProfileFuture, TokenSigner as _, UserProfile, UserProfiles,
};

pub(super) const WEB_SECRET: &str = "web-secret";
pub(super) const REDIRECT: &str = "https://app.example.test/cb";
pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(super) const USER: &str = "u-7f3a";
/// The DER bytes standing for the `mtls` client's certificate (only its hash matters).
pub(super) const MTLS_CERT: &[u8] = b"the mtls client's certificate";

/// `web` (secret), `spa` and `tv` (public, `tv` with the device grant), `svc` (client_credentials, `openid`).
#[derive(Debug)]
pub(super) struct Clients(HashMap<String, (Option<String>, AuthenticatedClient)>);

impl ClientAuthenticator for Clients {
    async fn authenticate(
        &self,
        presented: &PresentedCredentials,
        _context: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        let (id, secret) = match presented {
            PresentedCredentials::Secret { client_id, secret } => {
                (client_id.as_str(), Some(secret.as_str()))
            }
            PresentedCredentials::Certificate { client_id } => (client_id.as_str(), None),
            PresentedCredentials::Assertion { .. } => return Err(ClientAuthFailure::Invalid),
        };
        match self.0.get(id) {
            Some((expected, client)) if expected.as_deref() == secret => Ok(client.clone()),
            _ => Err(ClientAuthFailure::Invalid),
        }
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

/// Accounts by id; tests remove one to see its tokens stop working at UserInfo.
#[derive(Debug, Clone, Default)]
pub(super) struct Profiles(pub(super) Arc<Mutex<HashMap<String, UserProfile>>>);

impl UserProfiles for Profiles {
    fn profile<'a>(&'a self, id: &'a str) -> ProfileFuture<'a> {
        let found = self.0.lock().unwrap().get(id).cloned();
        Box::pin(async move { Ok(found) })
    }
}

pub(super) struct CodeHarness {
    pub(super) router: Router,
    pub(super) server: OAuthServer<Clients, FakeSigner>,
    pub(super) clock: Arc<ManualClock>,
    pub(super) jwks: Value,
    pub(super) profiles: Profiles,
}

pub(super) fn code_harness() -> CodeHarness {
    code_harness_with(OAuthHttpConfig::new(ISSUER))
}

pub(super) fn code_harness_with(config: OAuthHttpConfig) -> CodeHarness {
    let mut clients = HashMap::new();
    let scopes = ["openid", "profile", "email", "read"];
    let mut web = client_with_grants("web", &scopes, &["authorization_code", "refresh_token"]);
    // `active` introspects every client's tokens as `web`.
    web.introspect_any = true;
    clients.insert("web".into(), (Some(WEB_SECRET.into()), web));
    let spa = client_with_grants("spa", &scopes, &["authorization_code"]);
    clients.insert("spa".into(), (None, spa));
    let tv = client_with_grants("tv", &scopes, &[DEVICE_CODE_GRANT]);
    clients.insert("tv".into(), (None, tv));
    let tv2 = client_with_grants("tv2", &scopes, &[DEVICE_CODE_GRANT]);
    clients.insert("tv2".into(), (None, tv2));
    // `mtls`: its tokens are bound to the certificate `MTLS_CERT` (RFC 8705).
    let mut mtls = client_with_grants("mtls", &scopes, &["authorization_code"]);
    mtls.certificate_thumbprint = Some(crate::oauth::clients::certificate_thumbprint(MTLS_CERT));
    clients.insert("mtls".into(), (None, mtls));
    let svc = client("svc", &["openid", "read"], &[]);
    clients.insert("svc".into(), (Some("svc-secret".into()), svc));
    let signer = FakeSigner::new();
    let jwks = signer.jwks();
    let clock = Arc::new(ManualClock(Mutex::new(start_time())));
    let profiles = Profiles::default();
    profiles.0.lock().unwrap().insert(
        USER.into(),
        UserProfile {
            id: USER.into(),
            username: "alice".into(),
            display_name: "Alice Liddell".into(),
            email: "alice@example.test".into(),
            updated_at: 1_700_000_000,
        },
    );
    let state = Arc::new(crate::datastore::memory::MemoryStore::default());
    let server = OAuthServer::new(config, Clients(clients), signer, state, clock.clone())
        .with_user_profiles(profiles.clone());
    CodeHarness {
        router: server.router(),
        server,
        clock,
        jwks,
        profiles,
    }
}

fn client_with_grants(id: &str, scopes: &[&str], grants: &[&str]) -> AuthenticatedClient {
    let mut c = client(id, scopes, &[]);
    c.grant_types = grants.iter().map(|g| (*g).to_owned()).collect();
    c
}

/// What the browser flow would bind to a code for `client_id`.
pub(super) fn code_grant(client_id: &str, scopes: &[&str]) -> CodeGrant {
    CodeGrant {
        client_id: client_id.into(),
        redirect_uri: REDIRECT.into(),
        user_id: USER.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        code_challenge: challenge_of(VERIFIER),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: 1_799_999_990,
        amr: vec!["pwd".into()],
    }
}

impl CodeHarness {
    pub(super) async fn seed(&self, grant: CodeGrant) -> String {
        let now = *self.clock.0.lock().unwrap();
        self.server
            .codes()
            .issue(grant, now)
            .await
            .unwrap()
            .to_string()
    }

    /// `POST /oauth2/token` as `client_id` (the secret when it has one) with `pairs`.
    pub(super) async fn token(
        &self,
        client_id: &str,
        pairs: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut all = vec![("grant_type", "authorization_code")];
        all.extend_from_slice(pairs);
        let auth = match client_id {
            "web" => Some(basic("web", WEB_SECRET)),
            "svc" => Some(basic("svc", "svc-secret")),
            _ => {
                all.push(("client_id", client_id));
                None
            }
        };
        call(
            &self.router,
            post("/oauth2/token", auth.as_deref(), form(&all)),
        )
        .await
    }

    /// Redeems `code` as `client_id` with the right redirect URI and verifier.
    pub(super) async fn redeem(&self, client_id: &str, code: &str) -> (StatusCode, Value) {
        let pairs = [
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let (status, _, body) = self.token(client_id, &pairs).await;
        (status, body)
    }

    /// `active` of `token` at introspection (asked by `web`).
    pub(super) async fn active(&self, token: &str) -> bool {
        let req = post(
            "/oauth2/introspect",
            Some(&basic("web", WEB_SECRET)),
            form(&[("token", token)]),
        );
        let (status, _, body) = call(&self.router, req).await;
        assert_eq!(status, StatusCode::OK);
        body["active"].as_bool().unwrap()
    }
}
