//! Method dispatch: the registered method, disabled/unknown clients, single use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use rustls::pki_types::CertificateDer;
use serde_json::json;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use zeroize::Zeroizing;

use super::*;
use crate::datastore::memory::MemoryStore;
use crate::oauth::clients::test_support::{Ca, EcKey, FixedBundles, bundle, jwks};
use crate::oauth::clients::{ClientSecret, new_secret_record};
use crate::oauth::http::ClientCertificate;

const ISSUER: &str = "https://auth.example.test";
const TOKEN_ENDPOINT: &str = "https://auth.example.test/oauth2/token";
const NOW: u64 = 1_800_000_000;
const SVC_ID: &str = "spiffe://example.org/svc";

struct World {
    auth: StoreClientAuthenticator<MemoryStore, FixedBundles>,
    store: MemoryStore,
    key: EcKey,
    svid_key: EcKey,
    ca: Ca,
    secret: ClientSecret,
}

fn wire(id: &str, method: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        auth_method: method.into(),
        enabled: true,
        ..Default::default()
    }
}

async fn world() -> World {
    let store = MemoryStore::default();
    let key = EcKey::generate();
    let svid_key = EcKey::generate();
    let ca = Ca::new("example.org");
    let secret = ClientSecret::generate().unwrap();
    let mut pk = wire("pk", "private_key_jwt");
    pk.jwks = jwks(&[key.jwk(Some("k1"), None)]);
    store.create_oauth_client(&pk, None).await.unwrap();
    let mut sj = wire("sj", "spiffe_jwt");
    sj.spiffe_id = SVC_ID.into();
    store.create_oauth_client(&sj, None).await.unwrap();
    let mut mtls = wire("mtls", "tls_client_auth");
    mtls.spiffe_id = SVC_ID.into();
    store.create_oauth_client(&mtls, None).await.unwrap();
    let sec = wire("sec", "client_secret_basic");
    let record = new_secret_record(&secret);
    store
        .create_oauth_client(&sec, Some(&record))
        .await
        .unwrap();
    let bundles = FixedBundles(vec![bundle("example.org", Some(("j1", &svid_key)), &[&ca])]);
    let auth = StoreClientAuthenticator::new(store.clone(), bundles);
    World {
        auth,
        store,
        key,
        svid_key,
        ca,
        secret,
    }
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
}

fn context(cert: Option<&ClientCertificate>) -> AuthContext<'_> {
    AuthContext {
        now: now(),
        issuer: ISSUER,
        token_endpoint: TOKEN_ENDPOINT,
        endpoint: TOKEN_ENDPOINT,
        peer_certificate: cert,
    }
}

fn pk_assertion(w: &World, jti: &str) -> String {
    w.key.sign(
        &json!({"alg": "ES256", "kid": "k1"}),
        &json!({"iss": "pk", "sub": "pk", "aud": TOKEN_ENDPOINT, "exp": NOW + 60, "jti": jti}),
    )
}

fn svid(w: &World) -> String {
    w.svid_key.sign(
        &json!({"alg": "ES256", "kid": "j1", "typ": "JWT"}),
        &json!({"sub": SVC_ID, "aud": [TOKEN_ENDPOINT], "exp": NOW + 300, "iat": NOW}),
    )
}

fn assertion(client_id: Option<&str>, token: String) -> PresentedCredentials {
    PresentedCredentials::Assertion {
        client_id: client_id.map(str::to_owned),
        assertion: Zeroizing::new(token),
    }
}

/// Authenticates, then (as the endpoint does after the rate limit) uses a `jti` once.
async fn run(
    w: &World,
    p: &PresentedCredentials,
) -> Result<AuthenticatedClient, ClientAuthFailure> {
    authenticate_and_use(&w.auth, p, &context(None)).await
}

async fn authenticate_and_use(
    auth: &StoreClientAuthenticator<MemoryStore, FixedBundles>,
    p: &PresentedCredentials,
    ctx: &AuthContext<'_>,
) -> Result<AuthenticatedClient, ClientAuthFailure> {
    let client = auth.authenticate(p, ctx).await?;
    if let Some(once) = &client.single_use {
        auth.use_once(&client.client_id, once, ctx.now).await?;
    }
    Ok(client)
}

#[tokio::test]
async fn private_key_jwt_is_single_use_and_finds_the_client_without_client_id() {
    let w = world().await;
    let first = assertion(None, pk_assertion(&w, "a"));
    assert_eq!(run(&w, &first).await.unwrap().client_id, "pk");
    assert_eq!(
        run(&w, &first).await,
        Err(ClientAuthFailure::Invalid),
        "replay"
    );
    // The jti is a row in the datastore, which any replica consults.
    assert_eq!(w.store.prune_expiring(NOW as i64 + 600).await.unwrap(), 1);
    let with_id = assertion(Some("pk"), pk_assertion(&w, "b"));
    assert!(run(&w, &with_id).await.is_ok());
    let wrong_id = assertion(Some("sec"), pk_assertion(&w, "c"));
    assert_eq!(run(&w, &wrong_id).await, Err(ClientAuthFailure::Invalid));
}

/// An assertion may name the endpoint it is sent to (authlib does at introspection and
/// revocation); one for another endpoint is refused there.
#[tokio::test]
async fn an_assertion_may_be_for_the_endpoint_it_is_sent_to_only() {
    let w = world().await;
    let introspect = "https://auth.example.test/oauth2/introspect";
    let for_introspect = |jti: &str| {
        w.key.sign(
            &json!({"alg": "ES256", "kid": "k1"}),
            &json!({"iss": "pk", "sub": "pk", "aud": introspect, "exp": NOW + 60, "jti": jti}),
        )
    };
    let mut ctx = context(None);
    ctx.endpoint = introspect;
    let at_introspect = assertion(None, for_introspect("i1"));
    assert!(w.auth.authenticate(&at_introspect, &ctx).await.is_ok());
    let at_token = assertion(None, for_introspect("i2"));
    assert_eq!(run(&w, &at_token).await, Err(ClientAuthFailure::Invalid));
    ctx.endpoint = "https://auth.example.test/oauth2/revoke";
    let at_revoke = assertion(None, for_introspect("i3"));
    assert_eq!(
        w.auth.authenticate(&at_revoke, &ctx).await,
        Err(ClientAuthFailure::Invalid)
    );
}

#[tokio::test]
async fn the_method_used_must_be_the_registered_one() {
    let w = world().await;
    // A secret client cannot use an assertion, a private_key_jwt client no secret.
    let secret = PresentedCredentials::Secret {
        client_id: "pk".into(),
        secret: Zeroizing::new(w.secret.expose().to_owned()),
    };
    assert_eq!(run(&w, &secret).await, Err(ClientAuthFailure::Invalid));
    // A JWT-SVID for a tls_client_auth client (same SPIFFE ID) is refused.
    assert_eq!(
        run(&w, &assertion(Some("mtls"), svid(&w))).await,
        Err(ClientAuthFailure::Invalid)
    );
    // A certificate for a spiffe_jwt client is refused.
    let chain = ClientCertificate(Arc::new(vec![w.ca.leaf(&[SVC_ID], "svc", true)]));
    let cert = PresentedCredentials::Certificate {
        client_id: "sj".into(),
    };
    assert_eq!(
        w.auth.authenticate(&cert, &context(Some(&chain))).await,
        Err(ClientAuthFailure::Invalid)
    );
    let good = PresentedCredentials::Secret {
        client_id: "sec".into(),
        secret: Zeroizing::new(w.secret.expose().to_owned()),
    };
    let client = run(&w, &good).await.unwrap();
    assert_eq!(client.certificate_thumbprint, None);
}

#[tokio::test]
async fn spiffe_jwt_needs_client_id_and_is_refused_when_disabled() {
    let w = world().await;
    let ok = run(&w, &assertion(Some("sj"), svid(&w))).await.unwrap();
    assert_eq!(ok.client_id, "sj");
    assert_eq!(ok.scopes, vec!["read".to_owned()]);
    assert_eq!(
        run(&w, &assertion(None, svid(&w))).await,
        Err(ClientAuthFailure::Invalid)
    );
    let mut off = wire("sj", "spiffe_jwt");
    off.spiffe_id = SVC_ID.into();
    off.enabled = false;
    w.store.update_oauth_client(&off).await.unwrap();
    assert_eq!(
        run(&w, &assertion(Some("sj"), svid(&w))).await,
        Err(ClientAuthFailure::Invalid)
    );
    assert_eq!(
        run(&w, &assertion(Some("ghost"), svid(&w))).await,
        Err(ClientAuthFailure::Invalid)
    );
}

#[tokio::test]
async fn tls_client_auth_binds_the_certificate_and_needs_one() {
    let w = world().await;
    let leaf: CertificateDer<'static> = w.ca.leaf(&[SVC_ID], "svc", true);
    let chain = ClientCertificate(Arc::new(vec![leaf.clone()]));
    let cert = PresentedCredentials::Certificate {
        client_id: "mtls".into(),
    };
    let client = w
        .auth
        .authenticate(&cert, &context(Some(&chain)))
        .await
        .unwrap();
    assert_eq!(
        client.certificate_thumbprint,
        Some(crate::oauth::clients::certificate_thumbprint(leaf.as_ref()))
    );
    assert_eq!(
        w.auth.authenticate(&cert, &context(None)).await,
        Err(ClientAuthFailure::Invalid)
    );
}

#[tokio::test]
async fn unavailable_bundles_are_server_errors() {
    let w = world().await;
    let down = StoreClientAuthenticator::new(w.store.clone(), FixedBundles(Vec::new()));
    let result = down
        .authenticate(&assertion(Some("sj"), svid(&w)), &context(None))
        .await;
    assert!(matches!(result, Err(ClientAuthFailure::Unavailable(_))));
}

#[tokio::test]
async fn a_public_client_is_identified_by_client_id_alone_and_nothing_else_is() {
    let w = world().await;
    let mut public = wire("spa", "none");
    public.public = true;
    public.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    w.store.create_oauth_client(&public, None).await.unwrap();
    let only_id = |id: &str| PresentedCredentials::Certificate {
        client_id: id.into(),
    };
    let client = run(&w, &only_id("spa")).await.unwrap();
    assert_eq!(client.client_id, "spa");
    assert_eq!(client.certificate_thumbprint, None);
    // Only without a client certificate on the connection.
    let chain = ClientCertificate(Arc::new(vec![w.ca.leaf(&[SVC_ID], "svc", true)]));
    let with_cert = w
        .auth
        .authenticate(&only_id("spa"), &context(Some(&chain)))
        .await;
    assert_eq!(with_cert, Err(ClientAuthFailure::Invalid));
    // Every other registered method still needs its credential.
    for id in ["sec", "pk", "sj", "mtls"] {
        assert_eq!(
            run(&w, &only_id(id)).await,
            Err(ClientAuthFailure::Invalid),
            "{id}"
        );
    }
    // A disabled public client is refused like any other.
    public.enabled = false;
    w.store.update_oauth_client(&public).await.unwrap();
    assert_eq!(
        run(&w, &only_id("spa")).await,
        Err(ClientAuthFailure::Invalid)
    );
}
