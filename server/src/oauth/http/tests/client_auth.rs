//! Client authentication through the router with the real store-backed authenticator:
//! `private_key_jwt`, `spiffe_jwt` and `tls_client_auth` (certificate as a request
//! extension, as the TLS listener inserts it), and certificate-bound tokens.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::fakes::{FakeSigner, ISSUER, call, form, post, start_time};
use crate::datastore::OAuthClientStore as _;
use crate::datastore::memory::MemoryStore;
use crate::oauth::authenticator::StoreClientAuthenticator;
use crate::oauth::clients::certificate_thumbprint;
use crate::oauth::clients::test_support::{Ca, EcKey, FixedBundles, bundle, jwks};
use crate::oauth::http::{ClientCertificate, JWT_BEARER_ASSERTION, OAuthHttpConfig, OAuthServer};

const SVC_ID: &str = "spiffe://example.org/svc";

#[derive(Debug)]
struct Fixed(SystemTime);

impl Clock for Fixed {
    fn now(&self) -> SystemTime {
        self.0
    }
}

struct World {
    router: Router,
    key: EcKey,
    svid_key: EcKey,
    ca: Ca,
}

fn wire(id: &str, method: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        auth_method: method.into(),
        spiffe_id: if method == "private_key_jwt" {
            String::new()
        } else {
            SVC_ID.into()
        },
        enabled: true,
        ..Default::default()
    }
}

async fn world() -> World {
    let store = MemoryStore::default();
    let key = EcKey::generate();
    let svid_key = EcKey::generate();
    let ca = Ca::new("example.org");
    let mut pk = wire("pk", "private_key_jwt");
    pk.jwks = jwks(&[key.jwk(Some("k1"), Some("ES256"))]);
    store.create_oauth_client(&pk, None).await.unwrap();
    let sj = wire("sj", "spiffe_jwt");
    store.create_oauth_client(&sj, None).await.unwrap();
    let mtls = wire("mtls", "tls_client_auth");
    store.create_oauth_client(&mtls, None).await.unwrap();
    let bundles = FixedBundles(vec![bundle("example.org", Some(("j1", &svid_key)), &[&ca])]);
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        StoreClientAuthenticator::new(store.clone(), bundles),
        FakeSigner::new(),
        Arc::new(store),
        Arc::new(Fixed(start_time())),
    );
    World {
        router: server.router(),
        key,
        svid_key,
        ca,
    }
}

fn now_s() -> i64 {
    unix_seconds(start_time())
}

fn token_request(
    pairs: &[(&str, &str)],
    cert: Option<&ClientCertificate>,
) -> axum::http::Request<axum::body::Body> {
    let mut all = vec![("grant_type", "client_credentials")];
    all.extend_from_slice(pairs);
    let mut request = post("/oauth2/token", None, form(&all));
    if let Some(cert) = cert {
        request.extensions_mut().insert(cert.clone());
    }
    request
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn private_key_jwt_gets_a_token_once_per_assertion() {
    let w = world().await;
    let assertion = w.key.sign(
        &json!({"alg": "ES256", "kid": "k1"}),
        &json!({"iss": "pk", "sub": "pk", "aud": format!("{ISSUER}/oauth2/token"),
                "exp": now_s() + 60, "jti": "only-once"}),
    );
    let pairs = [
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, _, body) = call(&w.router, token_request(&pairs, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "pk");
    assert_eq!(claims["client_id"], "pk");
    assert!(claims.get("cnf").is_none());

    let (status, headers, body) = call(&w.router, token_request(&pairs, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a replay is refused");
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn spiffe_jwt_for_the_token_endpoint_gets_a_token_and_other_audiences_do_not() {
    let w = world().await;
    let svid = |aud: &str| {
        w.svid_key.sign(
            &json!({"alg": "ES256", "kid": "j1", "typ": "JWT"}),
            &json!({"sub": SVC_ID, "aud": [aud], "exp": now_s() + 300, "iat": now_s()}),
        )
    };
    let token_endpoint = format!("{ISSUER}/oauth2/token");
    let good = svid(&token_endpoint);
    let pairs = [
        ("client_id", "sj"),
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", good.as_str()),
    ];
    let (status, _, body) = call(&w.router, token_request(&pairs, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["sub"],
        "sj"
    );

    // Another audience, and (issue 11 §4) the issuer: that is a token-exchange subject's
    // audience, which a service receiving it must not replay as the workload's credential.
    for other in [svid("https://api.example.test"), svid(ISSUER)] {
        let pairs = [
            ("client_id", "sj"),
            ("client_assertion_type", JWT_BEARER_ASSERTION),
            ("client_assertion", other.as_str()),
        ];
        let (status, _, body) = call(&w.router, token_request(&pairs, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
    }
}

#[tokio::test]
async fn tls_client_auth_issues_certificate_bound_tokens_that_introspect_with_cnf() {
    let w = world().await;
    let leaf: CertificateDer<'static> = w.ca.leaf(&[SVC_ID], "svc", true);
    let cert = ClientCertificate(Arc::new(vec![leaf.clone()]));
    let (status, _, body) = call(
        &w.router,
        token_request(&[("client_id", "mtls")], Some(&cert)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let thumbprint = certificate_thumbprint(leaf.as_ref());
    assert_eq!(claims_of(&token)["cnf"], json!({"x5t#S256": thumbprint}));

    let mut request = post(
        "/oauth2/introspect",
        None,
        form(&[("client_id", "mtls"), ("token", &token)]),
    );
    request.extensions_mut().insert(cert.clone());
    let (status, _, answer) = call(&w.router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["cnf"]["x5t#S256"], thumbprint);
}

#[tokio::test]
async fn tls_client_auth_without_a_trusted_matching_certificate_is_invalid_client() {
    let w = world().await;
    let rogue = Ca::new("example.org").leaf(&[SVC_ID], "svc", true);
    let other_id = w.ca.leaf(&["spiffe://example.org/other"], "svc", true);
    for cert in [None, Some(rogue), Some(other_id)] {
        let cert = cert.map(|c| ClientCertificate(Arc::new(vec![c])));
        let (status, _, body) = call(
            &w.router,
            token_request(&[("client_id", "mtls")], cert.as_ref()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
    }
}

/// Issue 11 §11: an assertion's `jti` is remembered only once the rate limiter admitted the
/// request: a client over its rate fills nothing.
#[tokio::test]
async fn a_rate_limited_assertion_is_not_remembered() {
    use crate::datastore::ExpiringStore as _;

    let store = MemoryStore::default();
    let key = EcKey::generate();
    let mut pk = wire("pk", "private_key_jwt");
    pk.jwks = jwks(&[key.jwk(Some("k1"), Some("ES256"))]);
    store.create_oauth_client(&pk, None).await.unwrap();
    let mut config = OAuthHttpConfig::new(ISSUER);
    config.rate_per_second = 1;
    config.burst = 1;
    let server = OAuthServer::new(
        config,
        StoreClientAuthenticator::new(store.clone(), FixedBundles(vec![])),
        FakeSigner::new(),
        Arc::new(store.clone()),
        Arc::new(Fixed(start_time())),
    );
    let router = server.router();
    let endpoint = format!("{ISSUER}/oauth2/token");
    for (i, expected) in [(0, StatusCode::OK), (1, StatusCode::TOO_MANY_REQUESTS)] {
        let assertion = key.sign(
            &json!({"alg": "ES256", "kid": "k1"}),
            &json!({"iss": "pk", "sub": "pk", "aud": endpoint, "exp": now_s() + 60, "jti": format!("j{i}")}),
        );
        let pairs = [
            ("client_assertion_type", JWT_BEARER_ASSERTION),
            ("client_assertion", assertion.as_str()),
        ];
        let (status, _, body) = call(&router, token_request(&pairs, None)).await;
        assert_eq!(status, expected, "{body}");
    }
    // Every record is pruned long after: exactly one (the admitted request's jti) existed.
    let pruned = store.prune_expiring(i64::MAX).await.unwrap();
    assert_eq!(pruned, 1, "the refused request stored no jti");
}
