//! In-memory fakes for the ports, and request helpers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use tessera_proto::clock::Clock;
use tower::ServiceExt as _;

use crate::oauth::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, OAuthHttpConfig,
    OAuthServer, PresentedCredentials, SignFailure, TokenSigner,
};

pub(super) const ISSUER: &str = "https://auth.example.test";
pub(super) const KID: &str = "oauth-k1";

/// A clock tests move by hand.
#[derive(Debug)]
pub(super) struct ManualClock(pub(super) Mutex<SystemTime>);

impl ManualClock {
    pub(super) fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// Clients by id: (secret, what authentication returns).
#[derive(Debug, Default)]
pub(super) struct FakeClients(pub(super) HashMap<String, (String, AuthenticatedClient)>);

impl ClientAuthenticator for FakeClients {
    async fn authenticate(
        &self,
        presented: &PresentedCredentials,
        _context: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        let PresentedCredentials::Secret { client_id, secret } = presented else {
            return Err(ClientAuthFailure::Invalid);
        };
        let (client_id, secret) = (client_id.as_str(), secret.as_str());
        if client_id == "broken-store" {
            return Err(ClientAuthFailure::Unavailable("db down".into()));
        }
        match self.0.get(client_id) {
            Some((s, client)) if s == secret => Ok(client.clone()),
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

/// ES256 signer over a fresh P-256 key.
#[derive(Debug)]
pub(super) struct FakeSigner {
    key: EcdsaKeyPair,
    pub(super) deadline: Option<SystemTime>,
}

impl FakeSigner {
    pub(super) fn new() -> Self {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self {
            key,
            deadline: None,
        }
    }

    /// Signs arbitrary header and claims (for forged-token tests).
    pub(super) fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

impl TokenSigner for FakeSigner {
    fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]})
    }

    fn sign(
        &self,
        _now: SystemTime,
        claims: &Map<String, Value>,
        typ: &str,
    ) -> Result<String, SignFailure> {
        let header = json!({"alg": "ES256", "typ": typ, "kid": KID});
        Ok(self.sign_raw(&header, &Value::Object(claims.clone())))
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        self.deadline
    }
}

pub(super) fn client(id: &str, scopes: &[&str], audiences: &[&str]) -> AuthenticatedClient {
    AuthenticatedClient {
        client_id: id.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        audiences: audiences.iter().map(|s| (*s).to_owned()).collect(),
        grant_types: vec!["client_credentials".into()],
        access_token_ttl: None,
        certificate_thumbprint: None,
        introspect_any: false,
        single_use: None,
    }
}

/// A test harness: the router plus handles on the fakes.
pub(super) struct Harness {
    pub(super) router: Router,
    pub(super) clock: Arc<ManualClock>,
    pub(super) jwks: Value,
    pub(super) signer_for_forgery: FakeSigner,
}

pub(super) fn start_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Clients: `svc` (secret `s3cret:+&`, scopes read/write, aud api), `other` (secret `o`),
/// `noscope` without client_credentials.
pub(super) fn harness_with(config: OAuthHttpConfig) -> Harness {
    let mut clients = FakeClients::default();
    let svc = client("svc", &["read", "write"], &["https://api.example.test"]);
    clients.0.insert("svc".into(), ("s3cret:+&".into(), svc));
    // `other` is a resource server: it may introspect any client's tokens; `peer` only
    // its own.
    let mut other = client("other", &["read"], &[]);
    other.introspect_any = true;
    clients.0.insert("other".into(), ("o".into(), other));
    clients
        .0
        .insert("peer".into(), ("p".into(), client("peer", &["read"], &[])));
    let mut nogrant = client("nogrant", &["read"], &[]);
    nogrant.grant_types = vec!["authorization_code".into()];
    clients.0.insert("nogrant".into(), ("n".into(), nogrant));
    let signer = FakeSigner::new();
    let jwks = signer.jwks();
    // The forgery signer shares the key only through the same KID but a different key pair,
    // so its tokens fail signature verification.
    let signer_for_forgery = FakeSigner::new();
    let clock = Arc::new(ManualClock(Mutex::new(start_time())));
    let state = Arc::new(crate::datastore::memory::MemoryStore::default());
    let server = OAuthServer::new(config, clients, signer, state, clock.clone());
    Harness {
        router: server.router(),
        clock,
        jwks,
        signer_for_forgery,
    }
}

pub(super) fn harness() -> Harness {
    harness_with(OAuthHttpConfig::new(ISSUER))
}

/// `Basic` with RFC 6749 §2.3.1 form-urlencoding of both parts.
pub(super) fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

pub(super) fn post(path: &str, auth: Option<&str>, body: String) -> Request<Body> {
    let mut builder =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    builder.body(Body::from(body)).unwrap()
}

pub(super) async fn call(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

/// Gets a token for `svc` with client_secret_basic and extra parameters.
pub(super) async fn issue(h: &Harness, extra: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend_from_slice(extra);
    let auth = basic("svc", "s3cret:+&");
    call(&h.router, post("/oauth2/token", Some(&auth), form(&pairs))).await
}

pub(super) fn access_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}
