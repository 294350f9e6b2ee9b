#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use tessera_proto::clock::TokioClock;
use tonic::Code;

use super::*;
use crate::datastore::memory::MemoryStore;
use crate::oauth::clients::{ClientAuthError, authenticate_secret};

fn service() -> (ClientsService<MemoryStore>, MemoryStore, TokioClock) {
    let store = MemoryStore::default();
    let clock = TokioClock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000));
    (
        ClientsService::new(store.clone(), Arc::new(clock)),
        store,
        clock,
    )
}

fn wire(id: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        // The server owns these: a caller's values are ignored on create.
        enabled: false,
        created_at: 5,
        secret_rotated_at: 7,
        ..Default::default()
    }
}

async fn create(svc: &ClientsService<MemoryStore>, c: OAuthClient) -> CreateClientResponse {
    svc.create_client(Request::new(CreateClientRequest { client: Some(c) }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(start_paused = true)]
async fn create_returns_the_secret_once_and_stores_only_its_hash() {
    let (svc, store, clock) = service();
    let reply = create(&svc, wire("svc")).await;
    let secret = reply.client_secret;
    assert_eq!(secret.len(), 43);
    let client = reply.client.unwrap();
    assert!(client.enabled);
    assert_eq!(client.created_at, 1_000);
    assert_eq!(client.secret_rotated_at, 0);

    let record = store.get_client_secret("svc").await.unwrap().unwrap();
    assert_ne!(record.current_hash, secret);
    let got = svc
        .get_client(Request::new(GetClientRequest {
            client_id: "svc".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{got:?}").contains(&secret));
    assert!(
        authenticate_secret(&store, "svc", &secret, clock.now())
            .await
            .is_ok()
    );

    let dup = svc
        .create_client(Request::new(CreateClientRequest {
            client: Some(wire("svc")),
        }))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    let mut bad = wire("other");
    bad.grant_types.push("implicit".into());
    let err = svc
        .create_client(Request::new(CreateClientRequest { client: Some(bad) }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("grant_types:"),
        "{}",
        err.message()
    );
}

#[tokio::test(start_paused = true)]
async fn rotation_honours_the_grace_period_then_drops_the_old_secret() {
    let (svc, store, clock) = service();
    let old = create(&svc, wire("svc")).await.client_secret;
    let rotated = svc
        .rotate_client_secret(Request::new(RotateClientSecretRequest {
            client_id: "svc".into(),
            grace_period: 60,
        }))
        .await
        .unwrap()
        .into_inner();
    let new = rotated.client_secret;
    assert_ne!(new, old);
    assert_eq!(rotated.client.unwrap().secret_rotated_at, 1_000);
    assert!(
        authenticate_secret(&store, "svc", &old, clock.now())
            .await
            .is_ok()
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(matches!(
        authenticate_secret(&store, "svc", &old, clock.now()).await,
        Err(ClientAuthError::WrongSecret)
    ));
    assert!(
        authenticate_secret(&store, "svc", &new, clock.now())
            .await
            .is_ok()
    );

    // Default grace: one hour.
    let newer = svc
        .rotate_client_secret(Request::new(RotateClientSecretRequest {
            client_id: "svc".into(),
            grace_period: 0,
        }))
        .await
        .unwrap()
        .into_inner()
        .client_secret;
    let record = store.get_client_secret("svc").await.unwrap().unwrap();
    assert_eq!(record.previous_valid_until, 1_060 + 3_600);
    assert!(
        authenticate_secret(&store, "svc", &newer, clock.now())
            .await
            .is_ok()
    );

    let missing = svc
        .rotate_client_secret(Request::new(RotateClientSecretRequest {
            client_id: "ghost".into(),
            grace_period: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test(start_paused = true)]
async fn update_keeps_server_timestamps_and_delete_removes_the_secret() {
    let (svc, store, _clock) = service();
    create(&svc, wire("svc")).await;
    let mut change = wire("svc");
    change.enabled = false;
    change.created_at = 99;
    change.scopes = vec!["write".into()];
    let updated = svc
        .update_client(Request::new(UpdateClientRequest {
            client: Some(change),
        }))
        .await
        .unwrap()
        .into_inner()
        .client
        .unwrap();
    assert_eq!(updated.created_at, 1_000);
    assert_eq!(updated.secret_rotated_at, 0);
    assert!(!updated.enabled);
    assert_eq!(updated.scopes, ["write"]);
    let missing = svc
        .update_client(Request::new(UpdateClientRequest {
            client: Some(wire("ghost")),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    svc.delete_client(Request::new(DeleteClientRequest {
        client_id: "svc".into(),
    }))
    .await
    .unwrap();
    assert!(store.get_client_secret("svc").await.unwrap().is_none());
    let again = svc
        .delete_client(Request::new(DeleteClientRequest {
            client_id: "svc".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

fn grant_of(id: &str, client_id: &str) -> crate::datastore::GrantRecord {
    crate::datastore::GrantRecord {
        grant_id: id.into(),
        user_id: "u".into(),
        client_id: client_id.into(),
        scopes: vec![],
        auth_time: 0,
        amr: vec![],
        created_at: 0,
        expires_at: i64::MAX,
        generation: 0,
        rotated_at: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn disabling_or_deleting_a_client_ends_its_grants() {
    use crate::datastore::GrantStore;
    let (svc, store, _clock) = service();
    let a = create(&svc, wire("a")).await.client.unwrap();
    create(&svc, wire("b")).await;
    store
        .create_grant(&grant_of("g1", "a"), "h1")
        .await
        .unwrap();
    store
        .create_grant(&grant_of("g2", "b"), "h2")
        .await
        .unwrap();
    // An update that keeps the client enabled keeps its grants.
    svc.update_client(Request::new(UpdateClientRequest {
        client: Some(a.clone()),
    }))
    .await
    .unwrap();
    assert!(store.get_grant("g1").await.unwrap().is_some());
    let mut disabled = a;
    disabled.enabled = false;
    svc.update_client(Request::new(UpdateClientRequest {
        client: Some(disabled),
    }))
    .await
    .unwrap();
    assert!(store.get_grant("g1").await.unwrap().is_none());
    assert!(store.get_grant("g2").await.unwrap().is_some());
    svc.delete_client(Request::new(DeleteClientRequest {
        client_id: "b".into(),
    }))
    .await
    .unwrap();
    assert!(store.get_grant("g2").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn deleting_a_client_forgets_its_consents() {
    use crate::datastore::consent_store_tests::put;
    use crate::datastore::{ConsentStore, ScopeUpdate};
    let (svc, store, _clock) = service();
    let a = create(&svc, wire("a")).await.client.unwrap();
    create(&svc, wire("b")).await;
    for (user, client) in [("u1", "a"), ("u2", "a"), ("u1", "b")] {
        put(&store, (user, client), &["openid"], ScopeUpdate::Merge, 1).await;
    }
    // Disabling keeps them (only deletion forgets).
    let mut disabled = a;
    disabled.enabled = false;
    svc.update_client(Request::new(UpdateClientRequest {
        client: Some(disabled),
    }))
    .await
    .unwrap();
    assert!(store.get_consent("u1", "a").await.unwrap().is_some());
    svc.delete_client(Request::new(DeleteClientRequest {
        client_id: "a".into(),
    }))
    .await
    .unwrap();
    assert!(store.get_consent("u1", "a").await.unwrap().is_none());
    assert!(store.get_consent("u2", "a").await.unwrap().is_none());
    assert!(store.get_consent("u1", "b").await.unwrap().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_dn_client_keeps_its_trust_domain_and_the_field_needs_a_dn() {
    let (svc, _store, _clock) = service();
    let mut c = wire("partner");
    c.auth_method = "tls_client_auth".into();
    c.spiffe_id = "spiffe://partner.org/pay".into();
    c.tls_trust_domain = "partner.org".into();
    let err = svc
        .create_client(Request::new(CreateClientRequest {
            client: Some(c.clone()),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "tls_trust_domain: only together with tls_subject_dn (a SPIFFE ID names its own trust \
         domain)"
    );
    c.tls_subject_dn = "CN=payments,O=Partner".into();
    let created = create(&svc, c).await.client.unwrap();
    assert_eq!(created.tls_trust_domain, "partner.org");
    let got = svc
        .get_client(Request::new(GetClientRequest {
            client_id: "partner".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.client.unwrap().tls_trust_domain, "partner.org");
}
