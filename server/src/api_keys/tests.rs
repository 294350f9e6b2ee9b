//! The authenticator and manager over the in-memory store: least privilege at creation,
//! every check at use time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::*;
use crate::config::ApiKeysSection;
use crate::datastore::memory::MemoryStore;
use crate::datastore::{
    ApiKeyOwner, OAuthClientStore, TenantId, TenantRecord, TenantScope, TenantStore, UserRecord,
    UserStore,
};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

const DAY: Duration = Duration::from_secs(86_400);

fn new_key(owner: ApiKeyOwner, scopes: &[&str]) -> NewApiKey {
    NewApiKey {
        owner,
        name: "ci".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        audiences: Vec::new(),
        allowed_cidrs: Vec::new(),
        lifetime: 30 * DAY,
    }
}

struct Fixture {
    store: MemoryStore,
    manager: ApiKeyManager<MemoryStore>,
    auth: ApiKeyAuthenticator<MemoryStore>,
    usage: UsageLog,
    tenant: TenantId,
}

async fn fixture() -> Fixture {
    let store = MemoryStore::default();
    store
        .create_user(&UserRecord::for_test("alice"))
        .await
        .unwrap();
    let client = OAuthClient {
        client_id: "partner".into(),
        scopes: vec!["orders:read".into(), "admin:auditor".into()],
        audiences: vec!["https://orders".into()],
        enabled: true,
        ..Default::default()
    };
    store.create_oauth_client(&client, None).await.unwrap();
    let usage = UsageLog::default();
    Fixture {
        manager: ApiKeyManager::new(store.clone(), ApiKeysSection::default()),
        auth: ApiKeyAuthenticator::new(store.clone(), usage.clone()),
        usage,
        tenant: TenantId::default_tenant(),
        store,
    }
}

fn user(id: &str) -> ApiKeyOwner {
    ApiKeyOwner::User(id.into())
}

#[tokio::test]
async fn a_created_key_authenticates_until_it_expires() {
    let f = fixture().await;
    let (record, secret) = f
        .manager
        .create(
            &f.tenant,
            new_key(user("alice"), &["openid", "email"]),
            "test",
            at(1_000),
        )
        .await
        .unwrap();
    assert!(record.id.starts_with("ak_"));
    assert_eq!(record.expires_at, 1_000 + 30 * 86_400);
    assert_ne!(record.secret_hash, secret.expose());
    let key = f
        .auth
        .authenticate(&f.tenant, secret.expose(), None, at(2_000))
        .await
        .unwrap();
    assert_eq!(key.id, record.id);
    assert_eq!(key.owner, user("alice"));
    assert_eq!(key.scopes, ["email", "openid"]);
    assert!(f.usage.is_pending(&f.tenant, &record.id));
    let late = f
        .auth
        .authenticate(
            &f.tenant,
            secret.expose(),
            None,
            at(record.expires_at as u64),
        )
        .await;
    assert_eq!(late, Err(ApiKeyDenial::Expired(record.id.clone())));
}

#[tokio::test]
async fn revocation_and_the_owner_stop_a_key_at_once() {
    let f = fixture().await;
    let (record, secret) = f
        .manager
        .create(
            &f.tenant,
            new_key(user("alice"), &["openid"]),
            "test",
            at(1_000),
        )
        .await
        .unwrap();
    let use_at = |t| f.auth.authenticate(&f.tenant, secret.expose(), None, at(t));
    assert!(use_at(1_001).await.is_ok());
    let mut alice = f.store.get_user("alice").await.unwrap().unwrap();
    alice.disabled = true;
    let alice = f.store.update_user(&alice).await.unwrap();
    assert_eq!(
        use_at(1_002).await,
        Err(ApiKeyDenial::OwnerDisabled(record.id.clone()))
    );
    let mut alice = alice;
    alice.disabled = false;
    f.store.update_user(&alice).await.unwrap();
    assert!(use_at(1_003).await.is_ok());
    f.manager
        .revoke(&f.tenant, &record.id, "test", at(1_004))
        .await
        .unwrap();
    assert_eq!(
        use_at(1_005).await,
        Err(ApiKeyDenial::Revoked(record.id.clone()))
    );

    let (other, secret) = f
        .manager
        .create(
            &f.tenant,
            new_key(user("alice"), &["openid"]),
            "test",
            at(1_000),
        )
        .await
        .unwrap();
    f.store.delete_user("alice").await.unwrap();
    let gone = f
        .auth
        .authenticate(&f.tenant, secret.expose(), None, at(1_006))
        .await;
    assert_eq!(gone, Err(ApiKeyDenial::OwnerGone(other.id)));
}

#[tokio::test]
async fn malformed_unknown_and_foreign_sources_are_refused() {
    let f = fixture().await;
    let mut new = new_key(user("alice"), &["openid"]);
    new.allowed_cidrs = vec!["10.0.0.0/8".into()];
    let (record, secret) = f
        .manager
        .create(&f.tenant, new, "test", at(1_000))
        .await
        .unwrap();
    let check = |key: String, ip: &str| {
        let ip = ip.parse().ok();
        let auth = f.auth.clone();
        let tenant = f.tenant.clone();
        async move { auth.authenticate(&tenant, &key, ip, at(1_001)).await }
    };
    assert!(check(secret.expose().into(), "10.1.2.3").await.is_ok());
    assert_eq!(
        check(secret.expose().into(), "192.168.1.1").await,
        Err(ApiKeyDenial::SourceNotAllowed(record.id.clone()))
    );
    let mut typo = secret.expose().as_bytes().to_vec();
    typo[5] = if typo[5] == b'x' { b'y' } else { b'x' };
    assert_eq!(
        check(String::from_utf8(typo).unwrap(), "10.1.2.3").await,
        Err(ApiKeyDenial::Malformed(KeyFormatError::Checksum))
    );
    let unknown = ApiKeySecret::generate().unwrap();
    assert_eq!(
        check(unknown.expose().into(), "10.1.2.3").await,
        Err(ApiKeyDenial::Unknown)
    );
    // A key of one tenant is unknown in another.
    f.store
        .create_tenant(&TenantRecord {
            id: TenantId::parse("acme").unwrap(),
            name: "Acme".into(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let elsewhere = f
        .auth
        .authenticate(&acme, secret.expose(), "10.1.2.3".parse().ok(), at(1_001))
        .await;
    assert_eq!(elsewhere, Err(ApiKeyDenial::Unknown));
    assert!(f.store.for_tenant(&acme).is_ok());
}

#[tokio::test]
async fn creation_enforces_least_privilege() {
    let f = fixture().await;
    let create = |new: NewApiKey| f.manager.create(&f.tenant, new, "test", at(1_000));
    // Users get `[api_keys] user_scopes` at most; admin scopes only when configured.
    let above = create(new_key(user("alice"), &["openid", "orders:write"])).await;
    assert!(
        matches!(above, Err(ApiKeyError::Scope(ScopeError::AboveOwner(s))) if s == "orders:write")
    );
    let admin = create(new_key(user("alice"), &["admin:admin"])).await;
    assert!(matches!(
        admin,
        Err(ApiKeyError::Scope(ScopeError::AboveOwner(_)))
    ));
    // A client's keys get the client's scopes and audiences at most.
    let partner = ApiKeyOwner::Client("partner".into());
    let mut ok = new_key(partner.clone(), &["admin:auditor", "orders:read"]);
    ok.audiences = vec!["https://orders".into()];
    assert!(create(ok).await.is_ok());
    let mut far = new_key(partner.clone(), &["orders:read"]);
    far.audiences = vec!["https://elsewhere".into()];
    assert!(matches!(create(far).await, Err(ApiKeyError::Audience(_))));
    let mut long = new_key(user("alice"), &["openid"]);
    long.lifetime = 91 * DAY;
    let refused = create(long).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "lifetime 91d is not between 1s and the maximum 90d ([api_keys] max_lifetime)"
    );
    let nobody = create(new_key(user("bob"), &["openid"])).await;
    assert!(matches!(nobody, Err(ApiKeyError::OwnerNotFound(o)) if o == "user bob"));
    let mut bad_net = new_key(user("alice"), &["openid"]);
    bad_net.allowed_cidrs = vec!["10.0.0.1/8".into()];
    assert!(matches!(create(bad_net).await, Err(ApiKeyError::Cidr(_))));
    let mut unnamed = new_key(user("alice"), &["openid"]);
    unnamed.name = "  ".into();
    assert!(matches!(create(unnamed).await, Err(ApiKeyError::Name)));
}

#[tokio::test]
async fn a_client_made_again_under_the_same_id_does_not_inherit_its_keys() {
    let f = fixture().await;
    let partner = ApiKeyOwner::Client("partner".into());
    let (record, secret) = f
        .manager
        .create(
            &f.tenant,
            new_key(partner, &["orders:read"]),
            "test",
            at(1_000),
        )
        .await
        .unwrap();
    let use_at = |t| f.auth.authenticate(&f.tenant, secret.expose(), None, at(t));
    assert!(use_at(1_001).await.is_ok());
    assert!(f.store.delete_oauth_client("partner").await.unwrap());
    assert_eq!(
        use_at(1_002).await,
        Err(ApiKeyDenial::OwnerGone(record.id.clone()))
    );
    let again = OAuthClient {
        client_id: "partner".into(),
        scopes: vec!["orders:read".into()],
        enabled: true,
        created_at: 5_000,
        ..Default::default()
    };
    f.store.create_oauth_client(&again, None).await.unwrap();
    assert_eq!(use_at(1_003).await, Err(ApiKeyDenial::OwnerGone(record.id)));
}
