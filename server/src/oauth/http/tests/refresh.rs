//! The `refresh_token` grant, and refresh tokens at revocation and introspection, through
//! the router with the real client authenticator over a sled store on disk.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::fakes::{FakeSigner, ISSUER, ManualClock, basic, call, form, harness, post, start_time};
use crate::datastore::{OAuthClientStore, SledStore, UserRecord, UserStore};
use crate::oauth::authenticator::StoreClientAuthenticator;
use crate::oauth::clients::test_support::FixedBundles;
use crate::oauth::clients::{ClientSecret, new_secret_record};
use crate::oauth::grants::{GrantLifetimes, GrantService, GrantStart, Grants};
use crate::oauth::http::{OAuthHttpConfig, OAuthServer};

pub(super) struct World {
    pub(super) router: Router,
    /// The server behind `router` (to seed authorization codes).
    pub(super) server: OAuthServer<StoreClientAuthenticator<SledStore, FixedBundles>, FakeSigner>,
    grants: Arc<Grants<SledStore>>,
    store: SledStore,
    clock: Arc<ManualClock>,
    secret: ClientSecret,
    _dir: tempfile::TempDir,
}

fn wire(id: &str, method: &str, grant_types: &[&str]) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        auth_method: method.into(),
        public: method == "none",
        enabled: true,
        ..Default::default()
    }
}

/// Clients: `spa` (public), `web` (client_secret_basic, audience api), `cc` (secret, no
/// refresh_token grant). User `u-alice`.
pub(super) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let rt = ["authorization_code", "refresh_token"];
    store
        .create_oauth_client(&wire("spa", "none", &rt), None)
        .await
        .unwrap();
    let secret = ClientSecret::generate().unwrap();
    let mut web = wire("web", "client_secret_basic", &rt);
    web.audiences = vec!["https://api.example.test".into()];
    let record = new_secret_record(&secret);
    store
        .create_oauth_client(&web, Some(&record))
        .await
        .unwrap();
    let cc = wire("cc", "client_secret_basic", &["authorization_code"]);
    store.create_oauth_client(&cc, Some(&record)).await.unwrap();
    store
        .create_user(&UserRecord::for_test("u-alice"))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(start_time())));
    let lifetimes = GrantLifetimes {
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(86_400),
    };
    let grants = Arc::new(Grants::new(store.clone(), lifetimes));
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        StoreClientAuthenticator::new(store.clone(), FixedBundles(vec![])),
        FakeSigner::new(),
        Arc::new(store.clone()),
        clock.clone(),
    )
    .with_grants(grants.clone());
    World {
        router: server.router(),
        server,
        grants,
        store,
        clock,
        secret,
        _dir: dir,
    }
}

impl World {
    async fn start(&self, client: &str) -> String {
        let start = GrantStart {
            user_id: "u-alice".into(),
            client_id: client.into(),
            scopes: vec!["openid".into(), "profile".into()],
            auth_time: 1,
            amr: vec!["pwd".into()],
        };
        let (_, token) = GrantService::start(self.grants.as_ref(), start, start_time())
            .await
            .unwrap();
        token.expose().to_owned()
    }

    fn web_auth(&self) -> String {
        basic("web", self.secret.expose())
    }

    /// POSTs `pairs` to `path` as `client` (public: `client_id` in the form).
    pub(super) async fn post_as(
        &self,
        client: &str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut pairs = pairs.to_vec();
        let auth = match client {
            "spa" => {
                pairs.push(("client_id", "spa"));
                None
            }
            "web" => Some(self.web_auth()),
            other => Some(basic(other, self.secret.expose())),
        };
        let (status, _, body) = call(&self.router, post(path, auth.as_deref(), form(&pairs))).await;
        (status, body)
    }

    pub(super) async fn refresh(
        &self,
        client: &str,
        token: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        pairs.extend_from_slice(extra);
        self.post_as(client, "/oauth2/token", &pairs).await
    }
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub(super) fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_public_client_refreshes_with_client_id_only_and_gets_a_user_token() {
    let w = world().await;
    let t0 = w.start("spa").await;
    let (status, _, _) = {
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t0),
            ("client_id", "spa"),
        ]);
        let r = call(&w.router, post("/oauth2/token", None, body)).await;
        assert_eq!(r.1.get("cache-control").unwrap(), "no-store");
        (r.0, r.1, r.2.clone())
    };
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w.refresh("spa", &t0, &[]).await;
    // t0 was rotated by the call above: this is reuse.
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let t0 = w.start("spa").await;
    let (status, body) = w.refresh("spa", &t0, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile");
    assert_eq!(body["expires_in"], 600);
    let t1 = body["refresh_token"].as_str().unwrap();
    assert_ne!(t1, t0);
    assert_eq!(t1.len(), 43);
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], "u-alice");
    assert_eq!(c["client_id"], "spa");
    assert_eq!(c["aud"], ISSUER);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["scope"], "openid profile");
    assert!(c.get("cnf").is_none());
}

#[tokio::test]
async fn replaying_a_rotated_token_revokes_the_family_over_http() {
    let w = world().await;
    let t0 = w.start("web").await;
    let (_, b1) = w.refresh("web", &t0, &[]).await;
    let t1 = b1["refresh_token"].as_str().unwrap().to_owned();
    let (_, b2) = w.refresh("web", &t1, &[]).await;
    let t2 = b2["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = w.refresh("web", &t0, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // The newest token died with the family.
    let (status, body) = w.refresh("web", &t2, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn the_audience_of_a_confidential_client_and_scope_narrowing() {
    let w = world().await;
    let t0 = w.start("web").await;
    // A scope beyond the grant is refused without costing the client its token.
    let (status, body) = w.refresh("web", &t0, &[("scope", "openid email")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let (status, body) = w.refresh("web", &t0, &[("scope", "openid")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "https://api.example.test");
    assert_eq!(c["scope"], "openid");
    // Narrowing is per request: the grant keeps its scopes.
    let t1 = body["refresh_token"].as_str().unwrap();
    let (_, body) = w.refresh("web", t1, &[]).await;
    assert_eq!(body["scope"], "openid profile");
}

#[tokio::test]
async fn client_a_cannot_use_client_bs_refresh_token() {
    let w = world().await;
    let spa_token = w.start("spa").await;
    let (status, body) = w.refresh("web", &spa_token, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // And it did not harm the owner's family.
    let (status, _) = w.refresh("spa", &spa_token, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn request_errors() {
    let w = world().await;
    let t0 = w.start("cc").await;
    let (status, body) = w.refresh("cc", &t0, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    let (status, body) = w
        .post_as("spa", "/oauth2/token", &[("grant_type", "refresh_token")])
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (status, body) = w.refresh("spa", "not-a-token", &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // A public client id on a confidential client is not authentication.
    let t = w.start("web").await;
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &t),
        ("client_id", "web"),
    ]);
    let (status, _, body) = call(&w.router, post("/oauth2/token", None, body)).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
}

#[tokio::test]
async fn a_server_without_grants_does_not_support_the_grant() {
    let h = harness();
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]);
    let auth = basic("svc", "s3cret:+&");
    let (status, _, body) = call(&h.router, post("/oauth2/token", Some(&auth), body)).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
}

#[tokio::test]
async fn a_disabled_user_or_expired_grant_is_invalid_grant() {
    let w = world().await;
    let t0 = w.start("spa").await;
    w.clock.advance(Duration::from_secs(3600));
    let (status, body) = w.refresh("spa", &t0, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let t = w.start("spa").await;
    let mut alice = w.store.get_user("u-alice").await.unwrap().unwrap();
    alice.disabled = true;
    w.store.update_user(&alice).await.unwrap();
    // The harness clock is an hour ahead of the grant start: still inside the idle time.
    let (status, body) = w.refresh("spa", &t, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn revocation_of_a_refresh_token_ends_its_grant_and_only_for_its_client() {
    let w = world().await;
    let t0 = w.start("spa").await;
    // Another client's revocation is ignored (200 either way, RFC 7009).
    let (status, _) = w.post_as("web", "/oauth2/revoke", &[("token", &t0)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w.refresh("spa", &t0, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let t1 = body["refresh_token"].as_str().unwrap().to_owned();
    let hint = [("token", t1.as_str()), ("token_type_hint", "access_token")];
    let (status, _) = w.post_as("spa", "/oauth2/revoke", &hint).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w.refresh("spa", &t1, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn introspection_of_refresh_tokens() {
    let w = world().await;
    let t0 = w.start("web").await;
    let (status, body) = w
        .post_as("web", "/oauth2/introspect", &[("token", &t0)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["client_id"], "web");
    assert_eq!(body["sub"], "u-alice");
    assert_eq!(body["scope"], "openid profile");
    let exp = start_time()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    assert_eq!(body["exp"], exp);
    // Another client learns nothing (and public clients may not introspect at all).
    let (_, body) = w
        .post_as("cc", "/oauth2/introspect", &[("token", &t0)])
        .await;
    assert_eq!(body, serde_json::json!({"active": false}));
    let (status, _) = w
        .post_as("spa", "/oauth2/introspect", &[("token", &t0)])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A rotated token is inactive, and introspecting it did not revoke the family.
    let (_, b1) = w.refresh("web", &t0, &[]).await;
    let (_, body) = w
        .post_as("web", "/oauth2/introspect", &[("token", &t0)])
        .await;
    assert_eq!(body["active"], false);
    let t1 = b1["refresh_token"].as_str().unwrap();
    let (status, _) = w.refresh("web", t1, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

/// Issue 11 §6: a scope removed from the client after the grant started is no longer issued
/// at refresh, and asking for it is `invalid_scope`.
#[tokio::test]
async fn scopes_narrow_at_refresh_to_the_clients_current_scopes() {
    let w = world().await;
    let t0 = w.start("web").await;
    let mut web = w.store.get_oauth_client("web").await.unwrap().unwrap();
    web.scopes = vec!["openid".into(), "email".into()];
    w.store.update_oauth_client(&web).await.unwrap();
    let (status, body) = w.refresh("web", &t0, &[("scope", "openid profile")]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let (status, body) = w.refresh("web", &t0, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["scope"], "openid");
}
