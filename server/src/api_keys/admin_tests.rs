//! Admin scopes to grants: the role, the tenant limit, and the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use tessera_proto::clock::SystemClock;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::*;
use crate::api_keys::{ApiKeyManager, NewApiKey, UsageLog};
use crate::config::ApiKeysSection;
use crate::datastore::memory::MemoryStore;
use crate::datastore::{ApiKeyOwner, TenantRecord, TenantStore};

const SOCKET: CallSource = CallSource::Socket {
    uid: Some(1000),
    gid: Some(1000),
};

struct Fixture {
    manager: ApiKeyManager<MemoryStore>,
    admin: AdminKeys<MemoryStore>,
    acme: TenantId,
}

/// Client `ops` in the default tenant and in `acme`, allowed `read` and two admin scopes.
async fn fixture() -> Fixture {
    let store = MemoryStore::default();
    let acme = TenantId::parse("acme").unwrap();
    store
        .create_tenant(&TenantRecord {
            id: acme.clone(),
            name: "Acme".into(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    let client = OAuthClient {
        client_id: "ops".into(),
        scopes: vec!["read".into(), "admin:auditor".into(), "admin:admin".into()],
        enabled: true,
        ..Default::default()
    };
    for tenant in [TenantId::default_tenant(), acme.clone()] {
        let scoped = store.for_tenant(&tenant).unwrap();
        scoped.create_oauth_client(&client, None).await.unwrap();
    }
    let keys = ApiKeyAuthenticator::new(store.clone(), UsageLog::default());
    Fixture {
        manager: ApiKeyManager::new(store, ApiKeysSection::default()),
        admin: AdminKeys::new(keys, Arc::new(SystemClock)),
        acme,
    }
}

impl Fixture {
    /// A key of client `ops` in `tenant` with `scopes` and `cidrs`: (id, secret).
    async fn key(&self, tenant: &TenantId, scopes: &[&str], cidrs: &[&str]) -> (String, String) {
        let new = NewApiKey {
            owner: ApiKeyOwner::Client("ops".into()),
            name: "ci".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            audiences: Vec::new(),
            allowed_cidrs: cidrs.iter().map(|s| (*s).to_owned()).collect(),
            lifetime: Duration::from_secs(86_400),
        };
        let (record, secret) = self
            .manager
            .create(tenant, new, "test", SystemTime::now())
            .await
            .unwrap();
        (record.id, secret.expose().to_owned())
    }

    async fn grant(
        &self,
        key: &str,
        source: CallSource,
        tenant: &TenantId,
    ) -> Result<Grant, Denial> {
        self.admin.grant(key, source, tenant).await
    }
}

#[tokio::test]
async fn a_default_tenant_key_holds_its_admin_role_across_the_trust_domain() {
    let f = fixture().await;
    let default = TenantId::default_tenant();
    let (id, key) = f.key(&default, &["admin:auditor", "read"], &[]).await;
    let grant = f.grant(&key, SOCKET, &default).await.unwrap();
    assert_eq!(grant, Grant::new(Role::Auditor, format!("API key {id}")));
    // Found in the default tenant for a call naming another tenant, and not limited.
    assert_eq!(f.grant(&key, SOCKET, &f.acme).await.unwrap(), grant);
}

#[tokio::test]
async fn another_tenants_key_is_limited_to_its_tenant() {
    let f = fixture().await;
    let (id, key) = f.key(&f.acme, &["admin:admin"], &[]).await;
    let grant = f.grant(&key, SOCKET, &f.acme).await.unwrap();
    assert_eq!(grant.role, Role::Admin);
    assert_eq!(grant.tenant.as_ref(), Some(&f.acme));
    assert_eq!(grant.principal, format!("API key {id}"));
    // Unknown in the default tenant.
    let refused = f.grant(&key, SOCKET, &TenantId::default_tenant()).await;
    assert_eq!(
        refused,
        Err(Denial::Unauthenticated(
            "the API key is invalid, expired or revoked".into()
        ))
    );
}

#[tokio::test]
async fn keys_without_an_admin_scope_or_no_longer_valid_are_refused() {
    let f = fixture().await;
    let default = TenantId::default_tenant();
    let (id, key) = f.key(&default, &["read"], &[]).await;
    assert_eq!(
        f.grant(&key, SOCKET, &default)
            .await
            .unwrap_err()
            .to_string(),
        format!("API key {id} may not use the admin API (an API key needs an admin:<role> scope)")
    );
    let (id, key) = f.key(&default, &["admin:auditor"], &[]).await;
    f.manager
        .revoke(&default, &id, "test", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(
        f.grant(&key, SOCKET, &default).await,
        Err(Denial::Unauthenticated(
            "the API key is invalid, expired or revoked".into()
        ))
    );
    // The last character changed (to one it is not: 'x' alone was the key itself one
    // time in 64, and CI met that time).
    let last = if key.ends_with('x') { "y" } else { "x" };
    let bad = format!("{}{last}", &key[..key.len() - 1]);
    assert_ne!(bad, key);
    assert_eq!(
        f.grant(&bad, SOCKET, &default).await,
        Err(Denial::Unauthenticated("the API key is malformed".into()))
    );
}

#[tokio::test]
async fn source_networks_apply_and_the_socket_has_no_address() {
    let f = fixture().await;
    let default = TenantId::default_tenant();
    let (_, key) = f.key(&default, &["admin:auditor"], &["10.0.0.0/8"]).await;
    let inside = CallSource::Network {
        address: "10.1.2.3".parse().ok(),
    };
    let outside = CallSource::Network {
        address: "192.0.2.1".parse().ok(),
    };
    assert_eq!(
        f.grant(&key, inside, &default).await.unwrap().role,
        Role::Auditor
    );
    for source in [outside, SOCKET] {
        assert_eq!(
            f.grant(&key, source, &default).await,
            Err(Denial::Unauthenticated(
                "the API key is invalid, expired or revoked".into()
            ))
        );
    }
}

#[test]
fn the_admin_role_is_the_admin_scopes_role() {
    let scopes = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        admin_role(&scopes(&["read", "admin:operator"])),
        Some(Role::Operator)
    );
    assert_eq!(admin_role(&scopes(&["read"])), None);
    assert_eq!(
        admin_role(&scopes(&["admin:identity-admin"])),
        Some(Role::IdentityAdmin)
    );
}
