//! One behavioural suite for tenant isolation, every backend must pass: two tenants with
//! the same client ID, username, refresh-token hash and short-lived key, each seeing only
//! its own; a tenant deleted with everything it owns; `default` never deleted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::user_store_tests::record;
use super::{
    ConsentWrite, Datastore, DatastoreError, ExpiringKind, ExpiringWrite, GrantRecord, ScopeUpdate,
    SecretRecord, TenantId, TenantRecord, TenantScope, TenantStore,
};

fn tenant(id: &str) -> TenantRecord {
    TenantRecord {
        id: TenantId::parse(id).unwrap(),
        name: format!("Tenant {id}"),
        created_at: 10,
        updated_at: 10,
    }
}

/// Creates tenant `id` in `store` and returns the handle scoped to it.
pub async fn scoped<S: TenantStore + TenantScope>(store: &S, id: &str) -> S {
    let record = tenant(id);
    store.create_tenant(&record).await.unwrap();
    store.for_tenant(&record.id).unwrap()
}

fn grant(id: &str) -> GrantRecord {
    GrantRecord {
        grant_id: id.into(),
        user_id: "u1".into(),
        client_id: "web".into(),
        scopes: vec!["openid".into()],
        auth_time: 10,
        amr: vec!["pwd".into()],
        created_at: 10,
        expires_at: 1000,
        generation: 0,
        rotated_at: 10,
    }
}

fn client(name: &str) -> OAuthClient {
    OAuthClient {
        client_id: "web".into(),
        name: name.into(),
        enabled: true,
        ..Default::default()
    }
}

/// Writes the same keys in `store`'s tenant, with `mark` in what differs.
async fn seed<S: Datastore>(store: &S, mark: &str) {
    let secret = SecretRecord {
        current_hash: format!("hash-{mark}"),
        previous_hash: None,
        previous_valid_until: 0,
    };
    store
        .create_oauth_client(&client(mark), Some(&secret))
        .await
        .unwrap();
    store.create_user(&record("u1", "alice")).await.unwrap();
    store
        .create_grant(&grant("g1"), "token-hash")
        .await
        .unwrap();
    let scopes = [mark.to_string()];
    store
        .put_consent(&ConsentWrite {
            user_id: "u1",
            client_id: "web",
            scopes: &scopes,
            update: ScopeUpdate::Merge,
            now: 10,
        })
        .await
        .unwrap();
    let created = store
        .create_expiring(
            ExpiringWrite {
                kind: ExpiringKind::BrowserSession,
                key: b"session",
                group: b"",
                value: mark.as_bytes(),
                expires_at: 1000,
            },
            10,
        )
        .await
        .unwrap();
    assert!(created);
}

/// What `store`'s tenant sees of the shared keys: the client's name, the secret hash, the
/// consent's scopes, the session's value; `None` when absent.
async fn seen<S: Datastore>(store: &S) -> Option<(String, String, Vec<String>, Vec<u8>)> {
    let client = store.get_oauth_client("web").await.unwrap()?;
    let secret = store.get_client_secret("web").await.unwrap().unwrap();
    assert!(store.get_user("u1").await.unwrap().is_some());
    assert!(store.get_user_by_username("alice").await.unwrap().is_some());
    let (token, grant) = store
        .find_refresh_token("token-hash")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.grant_id, "g1");
    assert!(grant.is_some());
    let consent = store.get_consent("u1", "web").await.unwrap().unwrap();
    let session = store
        .get_expiring(ExpiringKind::BrowserSession, b"session", 20)
        .await
        .unwrap()
        .unwrap();
    Some((
        client.name,
        secret.current_hash,
        consent.scopes.into_iter().collect(),
        session.value,
    ))
}

async fn nothing_seen<S: Datastore>(store: &S) {
    assert!(store.get_oauth_client("web").await.unwrap().is_none());
    assert!(store.get_client_secret("web").await.unwrap().is_none());
    assert!(
        store
            .list_oauth_clients("", 100)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.get_user("u1").await.unwrap().is_none());
    assert!(store.get_user_by_username("alice").await.unwrap().is_none());
    assert!(store.list_users("", 100).await.unwrap().items.is_empty());
    assert!(
        store
            .find_refresh_token("token-hash")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_grant("g1").await.unwrap().is_none());
    assert!(store.get_consent("u1", "web").await.unwrap().is_none());
    assert!(
        store
            .get_expiring(ExpiringKind::BrowserSession, b"session", 20)
            .await
            .unwrap()
            .is_none()
    );
}

/// The suite.
pub async fn exercise<S: Datastore>(store: &S) {
    assert!(store.tenant().is_default());
    let listed = store.list_tenants().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["default"]
    );
    store.create_tenant(&tenant("acme")).await.unwrap();
    store.create_tenant(&tenant("globex")).await.unwrap();
    let again = store.create_tenant(&tenant("acme")).await;
    assert!(
        matches!(&again, Err(DatastoreError::AlreadyExists(m)) if m.contains("acme")),
        "{again:?}"
    );
    let ids: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(ids, ["acme", "default", "globex"]);

    let acme = store.for_tenant(&TenantId::parse("acme").unwrap()).unwrap();
    let globex = store
        .for_tenant(&TenantId::parse("globex").unwrap())
        .unwrap();
    assert_eq!(acme.tenant().as_str(), "acme");
    nothing_seen(&acme).await;
    seed(&acme, "acme").await;
    // Nothing of acme reaches the other tenants.
    nothing_seen(&globex).await;
    nothing_seen(store).await;
    // The same keys in another tenant are not duplicates, and stay apart.
    seed(&globex, "globex").await;
    let a = seen(&acme).await.unwrap();
    let g = seen(&globex).await.unwrap();
    assert_eq!(a.0, "acme");
    assert_eq!(g.0, "globex");
    assert_eq!((a.1.as_str(), g.1.as_str()), ("hash-acme", "hash-globex"));
    assert_eq!(
        (a.2.clone(), g.2.clone()),
        (vec!["acme".to_string()], vec!["globex".to_string()])
    );
    assert_eq!(
        (a.3.clone(), g.3.clone()),
        (b"acme".to_vec(), b"globex".to_vec())
    );

    // Writes through one tenant never touch the other's records.
    assert!(globex.delete_oauth_client("web").await.unwrap());
    assert!(globex.delete_user("u1").await.unwrap().is_some());
    assert_eq!(globex.delete_user_grants("u1").await.unwrap(), 1);
    assert_eq!(globex.delete_client_consents("web").await.unwrap(), 1);
    assert!(
        globex
            .delete_expiring(ExpiringKind::BrowserSession, b"session", None)
            .await
            .unwrap()
    );
    assert_eq!(globex.prune_expiring(5000).await.unwrap(), 0);
    nothing_seen(&globex).await;
    assert_eq!(seen(&acme).await, Some(a));
    // Pruning is per tenant too.
    assert_eq!(store.prune_expiring(5000).await.unwrap(), 0);
    assert_eq!(store.prune_grants(5000, 1).await.unwrap(), 0);
    assert!(seen(&acme).await.is_some());

    // Renaming.
    let mut renamed = tenant("acme");
    renamed.name = "ACME Corp".into();
    renamed.updated_at = 20;
    store.update_tenant(&renamed).await.unwrap();
    let got = store.get_tenant(&renamed.id).await.unwrap().unwrap();
    assert_eq!(got.name, "ACME Corp");
    let missing = store.update_tenant(&tenant("nobody")).await;
    assert!(
        matches!(missing, Err(DatastoreError::NotFound(_))),
        "{missing:?}"
    );

    // Deleting a tenant deletes what it owns; a new tenant of the same ID starts empty.
    assert!(store.delete_tenant(&renamed.id).await.unwrap());
    assert!(!store.delete_tenant(&renamed.id).await.unwrap());
    assert!(store.get_tenant(&renamed.id).await.unwrap().is_none());
    store.create_tenant(&tenant("acme")).await.unwrap();
    let acme = store.for_tenant(&TenantId::parse("acme").unwrap()).unwrap();
    nothing_seen(&acme).await;
    let refused = store.delete_tenant(&TenantId::default_tenant()).await;
    assert!(
        matches!(refused, Err(DatastoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(
        store
            .get_tenant(&TenantId::default_tenant())
            .await
            .unwrap()
            .is_some()
    );
}

/// The tenant-owned suites, unchanged, on `store` scoped to a new tenant `acme`.
pub async fn scoped_suites<S: Datastore>(store: &S) {
    store.create_tenant(&tenant("acme")).await.unwrap();
    let acme = store.for_tenant(&TenantId::parse("acme").unwrap()).unwrap();
    super::user_store_tests::exercise(&acme).await;
    super::grant_store_tests::exercise(&acme).await;
    super::grant_store_tests::exercise_refresh_reads(&acme).await;
    super::consent_store_tests::exercise(&acme).await;
    super::oauth_client_store_tests::exercise(&acme).await;
    super::expiring_store_tests::exercise(&acme).await;
    super::api_key_store_tests::exercise(&acme).await;
}
