//! `tessera.admin.v1.ApiKeys`: API keys (issue 17) of the tenant the request names. The
//! secret is returned by `CreateApiKey` once; only its hash is stored, and it is never
//! logged. Every change is an audit event (`tessera::audit`).

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::Clock;
use tessera_proto::wire::tessera::admin::v1::api_key_owner::Owner;
use tessera_proto::wire::tessera::admin::v1::api_keys_server::ApiKeys;
use tessera_proto::wire::tessera::admin::v1::{
    ApiKey, ApiKeyOwner as WireOwner, ApiKeyResponse, CreateApiKeyRequest, CreateApiKeyResponse,
    GetApiKeyRequest, ListApiKeysRequest, ListApiKeysResponse, RevokeApiKeyRequest,
};
use tonic::{Request, Response, Status};

use crate::api::datastore_status;
use crate::api_keys::{ApiKeyError, ApiKeyManager, NewApiKey};
use crate::datastore::{
    ApiKeyOwner, ApiKeyRecord, ApiKeyStore, OAuthClientStore, TenantId, TenantScope, TenantStore,
    UserStore,
};

/// The largest page `ListApiKeys` returns (also the size of a page when none is asked).
pub const MAX_API_KEY_PAGE: usize = 1000;

/// The actor of admin API changes in audit events.
const ACTOR: &str = "admin_api";

/// Operator access to the API keys.
#[derive(Debug)]
pub struct ApiKeysService<S> {
    keys: ApiKeyManager<S>,
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S> ApiKeysService<S> {
    /// A service over `keys` (tenants looked up in `store`), reading time from `clock`.
    pub fn new(keys: ApiKeyManager<S>, store: S, clock: Arc<dyn Clock>) -> Self {
        Self { keys, store, clock }
    }
}

/// The gRPC status of a key error: `InvalidArgument` with the reason for a refused
/// request (scope above the owner's, lifetime, network …), precise `NotFound`; internal
/// detail is logged, never sent.
pub fn api_key_status(e: ApiKeyError) -> Status {
    match e {
        e @ (ApiKeyError::Scope(_)
        | ApiKeyError::Lifetime { .. }
        | ApiKeyError::Name
        | ApiKeyError::TooMany
        | ApiKeyError::Cidr(_)
        | ApiKeyError::Audience(_)) => Status::invalid_argument(e.to_string()),
        e @ ApiKeyError::OwnerNotFound(_) => Status::failed_precondition(e.to_string()),
        e @ ApiKeyError::NotFound(_) => Status::not_found(e.to_string()),
        ApiKeyError::Datastore(e) => datastore_status(e),
        other => {
            tracing::error!(error = %other, "internal error in the API keys API");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The owner of a wire request; `InvalidArgument` when neither or an empty one is set.
fn owner(wire: Option<WireOwner>) -> Result<Option<ApiKeyOwner>, Status> {
    match wire.and_then(|o| o.owner) {
        None => Ok(None),
        Some(Owner::UserId(id)) if !id.is_empty() => Ok(Some(ApiKeyOwner::User(id))),
        Some(Owner::ClientId(id)) if !id.is_empty() => Ok(Some(ApiKeyOwner::Client(id))),
        Some(_) => Err(Status::invalid_argument("owner: the ID is empty")),
    }
}

/// The wire form of a key: never its hash.
pub fn to_wire(k: &ApiKeyRecord) -> ApiKey {
    let owner = match &k.owner {
        ApiKeyOwner::User(id) => Owner::UserId(id.clone()),
        ApiKeyOwner::Client(id) => Owner::ClientId(id.clone()),
    };
    ApiKey {
        id: k.id.clone(),
        name: k.name.clone(),
        owner: Some(WireOwner { owner: Some(owner) }),
        scopes: k.scopes.clone(),
        audiences: k.audiences.clone(),
        allowed_cidrs: k.allowed_cidrs.clone(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        revoked_at: k.revoked_at.unwrap_or_default(),
        last_used_at: k.last_used_at.unwrap_or_default(),
        last_used_from: k.last_used_from.clone().unwrap_or_default(),
    }
}

fn reply(k: &ApiKeyRecord) -> Response<ApiKeyResponse> {
    Response::new(ApiKeyResponse {
        api_key: Some(to_wire(k)),
    })
}

impl<S> ApiKeysService<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantStore + TenantScope + Clone,
{
    /// The tenant `request` names, which must exist.
    async fn tenant<T>(&self, request: &Request<T>) -> Result<TenantId, Status> {
        let store = super::tenant_scope::scoped(&self.store, request).await?;
        Ok(store.tenant().clone())
    }
}

#[tonic::async_trait]
impl<S> ApiKeys for ApiKeysService<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantStore + TenantScope + Clone,
{
    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let tenant = self.tenant(&request).await?;
        let r = request.into_inner();
        let owner = owner(r.owner)?.ok_or_else(|| Status::invalid_argument("owner: required"))?;
        let seconds = u64::try_from(r.expires_in)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| Status::invalid_argument("expires_in: required (seconds, > 0)"))?;
        let new = NewApiKey {
            owner,
            name: r.name,
            scopes: r.scopes,
            audiences: r.audiences,
            allowed_cidrs: r.allowed_cidrs,
            lifetime: Duration::from_secs(seconds),
        };
        let (record, secret) = self
            .keys
            .create(&tenant, new, ACTOR, self.clock.now())
            .await
            .map_err(api_key_status)?;
        Ok(Response::new(CreateApiKeyResponse {
            api_key: Some(to_wire(&record)),
            secret: secret.expose().to_owned(),
        }))
    }

    async fn get_api_key(
        &self,
        request: Request<GetApiKeyRequest>,
    ) -> Result<Response<ApiKeyResponse>, Status> {
        let tenant = self.tenant(&request).await?;
        let id = request.into_inner().id;
        let record = self.keys.get(&tenant, &id).await.map_err(api_key_status)?;
        Ok(reply(&record))
    }

    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let tenant = self.tenant(&request).await?;
        let r = request.into_inner();
        let owner = owner(r.owner)?;
        let size = match r.page_size as usize {
            0 => MAX_API_KEY_PAGE,
            n => n.min(MAX_API_KEY_PAGE),
        };
        let page = self
            .keys
            .list(&tenant, owner.as_ref(), &r.page_token, size)
            .await
            .map_err(api_key_status)?;
        Ok(Response::new(ListApiKeysResponse {
            api_keys: page.items.iter().map(to_wire).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<ApiKeyResponse>, Status> {
        let tenant = self.tenant(&request).await?;
        let id = request.into_inner().id;
        let record = self
            .keys
            .revoke(&tenant, &id, ACTOR, self.clock.now())
            .await
            .map_err(api_key_status)?;
        Ok(reply(&record))
    }
}

#[cfg(test)]
#[path = "api_keys_tests.rs"]
mod tests;
