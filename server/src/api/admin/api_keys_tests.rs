#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::SystemTime;

use tessera_proto::clock::TokioClock;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use tonic::Code;

use super::*;
use crate::config::ApiKeysSection;
use crate::datastore::memory::MemoryStore;
use crate::datastore::{UserRecord, UserStore};

async fn service() -> ApiKeysService<MemoryStore> {
    let store = MemoryStore::default();
    store
        .create_user(&UserRecord::for_test("u1"))
        .await
        .unwrap();
    let client = OAuthClient {
        client_id: "partner".into(),
        scopes: vec!["read".into()],
        enabled: true,
        ..Default::default()
    };
    store.create_oauth_client(&client, None).await.unwrap();
    let clock = TokioClock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000));
    let keys = ApiKeyManager::new(store.clone(), ApiKeysSection::default());
    ApiKeysService::new(keys, store, Arc::new(clock))
}

fn user(id: &str) -> Option<WireOwner> {
    Some(WireOwner {
        owner: Some(Owner::UserId(id.into())),
    })
}

fn create(owner: Option<WireOwner>, scopes: &[&str], expires_in: i64) -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        owner,
        name: "ci".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        audiences: Vec::new(),
        allowed_cidrs: Vec::new(),
        expires_in,
    }
}

#[tokio::test(start_paused = true)]
async fn create_returns_the_secret_once_then_get_list_and_revoke_show_the_key_without_it() {
    let svc = service().await;
    let reply = svc
        .create_api_key(Request::new(create(user("u1"), &["openid"], 3600)))
        .await
        .unwrap()
        .into_inner();
    let key = reply.api_key.unwrap();
    assert!(crate::api_keys::parse_key(&reply.secret).is_ok());
    assert_eq!((key.created_at, key.expires_at), (1_000, 4_600));
    let got = svc
        .get_api_key(Request::new(GetApiKeyRequest { id: key.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .api_key
        .unwrap();
    assert_eq!(got, key);
    let listed = svc
        .list_api_keys(Request::new(ListApiKeysRequest {
            owner: user("u1"),
            page_size: 0,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.api_keys, std::slice::from_ref(&key));
    let revoked = svc
        .revoke_api_key(Request::new(RevokeApiKeyRequest { id: key.id }))
        .await
        .unwrap()
        .into_inner()
        .api_key
        .unwrap();
    assert_eq!(revoked.revoked_at, 1_000);
}

#[tokio::test(start_paused = true)]
async fn refusals_have_precise_statuses() {
    let svc = service().await;
    let refused = |r: Result<Response<CreateApiKeyResponse>, Status>| {
        let s = r.unwrap_err();
        (s.code(), s.message().to_owned())
    };
    let above = svc
        .create_api_key(Request::new(create(user("u1"), &["read"], 3600)))
        .await;
    assert_eq!(
        refused(above),
        (
            Code::InvalidArgument,
            "scope \"read\" is not one the key's owner may get".into()
        )
    );
    let no_owner = svc
        .create_api_key(Request::new(create(None, &["openid"], 3600)))
        .await;
    assert_eq!(
        refused(no_owner),
        (Code::InvalidArgument, "owner: required".into())
    );
    let no_expiry = svc
        .create_api_key(Request::new(create(user("u1"), &["openid"], 0)))
        .await;
    assert_eq!(
        refused(no_expiry),
        (
            Code::InvalidArgument,
            "expires_in: required (seconds, > 0)".into()
        )
    );
    let nobody = svc
        .create_api_key(Request::new(create(user("u9"), &["openid"], 3600)))
        .await;
    assert_eq!(
        refused(nobody),
        (Code::FailedPrecondition, "no user u9 in this tenant".into())
    );
    let missing = svc
        .revoke_api_key(Request::new(RevokeApiKeyRequest { id: "ak_x".into() }))
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code(), missing.message()),
        (Code::NotFound, "no API key ak_x")
    );
    let mut elsewhere = Request::new(GetApiKeyRequest { id: "ak_x".into() });
    elsewhere
        .metadata_mut()
        .insert(super::super::TENANT_METADATA, "acme".parse().unwrap());
    let status = svc.get_api_key(elsewhere).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "no tenant \"acme\"")
    );
    // A client's key gets the client's scopes.
    let partner = Some(WireOwner {
        owner: Some(Owner::ClientId("partner".into())),
    });
    let ok = svc
        .create_api_key(Request::new(create(partner, &["read"], 3600)))
        .await;
    assert!(ok.is_ok());
}
