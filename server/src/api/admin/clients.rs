//! `tessera.admin.v1.Clients`: OAuth client registration. The secret is returned by
//! `CreateClient` / `RotateClientSecret` once; only its hash is stored, and it is never
//! logged.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::wire::tessera::admin::v1::clients_server::Clients;
use tessera_proto::wire::tessera::admin::v1::{
    ClientResponse, CreateClientRequest, CreateClientResponse, DeleteClientRequest,
    DeleteClientResponse, GetClientRequest, ListClientsRequest, ListClientsResponse, OAuthClient,
    RotateClientSecretRequest, UpdateClientRequest,
};
use tonic::{Request, Response, Status};

use crate::api::{client_status, datastore_status};
use crate::datastore::{
    ApiKeyStore, ConsentStore, GrantStore, OAuthClientStore, TenantScope, TenantStore,
};
use crate::oauth::browser::consent::forget_client_consents;
use crate::oauth::clients::{
    Client, ClientSecret, DEFAULT_GRACE_PERIOD, new_secret_record, rotate_secret_record,
};

/// The largest page `ListClients` returns (also the size of a page when none is asked).
pub const MAX_CLIENT_PAGE: usize = 1000;

/// Operator access to the OAuth clients.
#[derive(Debug)]
pub struct ClientsService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S> ClientsService<S> {
    /// A service over the clients in `store`, stamping times read from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

fn required(client: Option<OAuthClient>) -> Result<OAuthClient, Status> {
    client.ok_or_else(|| Status::invalid_argument("client: required"))
}

fn not_found(id: &str) -> Status {
    Status::not_found(format!("no OAuth client {id:?}"))
}

/// Ends every grant (refresh-token family) of a disabled or deleted client. A failure is
/// logged, not returned: the client change is done, and refreshes check the client live.
async fn end_grants<S: GrantStore>(store: &S, client_id: &str) {
    if let Err(e) = crate::oauth::grants::revoke_client_grants(store, client_id).await {
        tracing::error!(client_id, error = %e, "could not revoke the client's grants");
    }
}

/// Forgets every consent users gave a deleted client (a client registered again under the
/// same ID asks again). A failure is logged, not returned: the client is gone.
async fn end_consents<S: ConsentStore>(store: &S, client_id: &str) {
    if let Err(e) = forget_client_consents(store, client_id).await {
        tracing::error!(client_id, error = %e, "could not forget the client's consents");
    }
}

fn generate() -> Result<ClientSecret, Status> {
    ClientSecret::generate().map_err(|_| {
        tracing::error!("the system random generator failed");
        Status::internal("internal error; see the server log")
    })
}

/// The client `id` of `store`'s tenant.
async fn load<S: OAuthClientStore>(store: &S, id: &str) -> Result<Client, Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument("client_id: required"));
    }
    crate::oauth::clients::get_client(store, id)
        .await
        .map_err(datastore_status)?
        .ok_or_else(|| not_found(id))
}

#[tonic::async_trait]
impl<S: OAuthClientStore + GrantStore + ConsentStore + ApiKeyStore + TenantStore + TenantScope>
    Clients for ClientsService<S>
{
    async fn create_client(
        &self,
        request: Request<CreateClientRequest>,
    ) -> Result<Response<CreateClientResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let mut wire = required(request.into_inner().client)?;
        let now = self.clock.now();
        // A new client is enabled; `UpdateClient` disables it.
        wire.enabled = true;
        wire.created_at = unix_seconds(now);
        wire.secret_rotated_at = 0;
        let client = Client::from_proto(wire).map_err(client_status)?;
        let secret = if client.auth_method.uses_secret() {
            Some(generate()?)
        } else {
            None
        };
        let record = secret.as_ref().map(new_secret_record);
        let stored = client.to_proto();
        store
            .create_oauth_client(&stored, record.as_ref())
            .await
            .map_err(datastore_status)?;
        tracing::info!(
            target: "tessera::audit",
            event = "oauth_client_created",
            actor = "admin_api",
            tenant = %store.tenant(),
            client_id = %client.client_id,
            auth_method = %client.auth_method,
            grant_types = ?client.grant_types,
            scopes = ?client.scopes,
            audiences = ?client.audiences,
            spiffe_id = client.spiffe_id.as_ref().map(|s| s.as_str()).unwrap_or(""),
        );
        Ok(Response::new(CreateClientResponse {
            client: Some(stored),
            client_secret: secret.map(|s| s.expose().to_string()).unwrap_or_default(),
        }))
    }

    async fn get_client(
        &self,
        request: Request<GetClientRequest>,
    ) -> Result<Response<ClientResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let client = load(&store, &request.into_inner().client_id).await?;
        Ok(Response::new(ClientResponse {
            client: Some(client.to_proto()),
        }))
    }

    async fn list_clients(
        &self,
        request: Request<ListClientsRequest>,
    ) -> Result<Response<ListClientsResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let request = request.into_inner();
        let size = usize::try_from(request.page_size).unwrap_or(MAX_CLIENT_PAGE);
        let size = if size == 0 {
            MAX_CLIENT_PAGE
        } else {
            size.min(MAX_CLIENT_PAGE)
        };
        let page = store
            .list_oauth_clients(&request.page_token, size)
            .await
            .map_err(datastore_status)?;
        Ok(Response::new(ListClientsResponse {
            clients: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_client(
        &self,
        request: Request<UpdateClientRequest>,
    ) -> Result<Response<ClientResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let mut wire = required(request.into_inner().client)?;
        let existing = load(&store, &wire.client_id).await?;
        // Server-owned timestamps are kept whatever the caller sent.
        wire.created_at = existing.created_at;
        wire.secret_rotated_at = existing.secret_rotated_at;
        let client = Client::from_proto(wire).map_err(client_status)?;
        let stored = client.to_proto();
        store
            .update_oauth_client(&stored)
            .await
            .map_err(datastore_status)?;
        if !client.enabled {
            end_grants(&store, &client.client_id).await;
        }
        tracing::info!(
            target: "tessera::audit",
            event = "oauth_client_updated",
            actor = "admin_api",
            tenant = %store.tenant(),
            client_id = %client.client_id,
            enabled = client.enabled,
            auth_method = %client.auth_method,
            grant_types = ?client.grant_types,
            scopes = ?client.scopes,
            audiences = ?client.audiences,
        );
        Ok(Response::new(ClientResponse {
            client: Some(stored),
        }))
    }

    async fn delete_client(
        &self,
        request: Request<DeleteClientRequest>,
    ) -> Result<Response<DeleteClientResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let id = request.into_inner().client_id;
        if id.is_empty() {
            return Err(Status::invalid_argument("client_id: required"));
        }
        let existed = store
            .delete_oauth_client(&id)
            .await
            .map_err(datastore_status)?;
        if !existed {
            return Err(not_found(&id));
        }
        end_grants(&store, &id).await;
        end_consents(&store, &id).await;
        let owner = crate::datastore::ApiKeyOwner::Client(id.clone());
        crate::api_keys::forget_owner_keys(&store, &owner).await;
        tracing::info!(
            target: "tessera::audit",
            event = "oauth_client_deleted",
            actor = "admin_api",
            tenant = %store.tenant(),
            client_id = %id,
        );
        Ok(Response::new(DeleteClientResponse {}))
    }

    async fn rotate_client_secret(
        &self,
        request: Request<RotateClientSecretRequest>,
    ) -> Result<Response<CreateClientResponse>, Status> {
        let store = super::tenant_scope::scoped(&self.store, &request).await?;
        let request = request.into_inner();
        let grace = match u64::try_from(request.grace_period) {
            Ok(0) => DEFAULT_GRACE_PERIOD,
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => {
                return Err(Status::invalid_argument(
                    "grace_period: must not be negative",
                ));
            }
        };
        let mut client = load(&store, &request.client_id).await?;
        if !client.auth_method.uses_secret() {
            return Err(Status::failed_precondition(format!(
                "client {:?} uses auth_method {} and has no secret",
                client.client_id, client.auth_method
            )));
        }
        let now = self.clock.now();
        let old = store
            .get_client_secret(&client.client_id)
            .await
            .map_err(datastore_status)?;
        let secret = generate()?;
        let record = rotate_secret_record(old.as_ref(), &secret, now, grace);
        client.secret_rotated_at = unix_seconds(now);
        let stored = client.to_proto();
        store
            .put_client_secret(&stored, &record)
            .await
            .map_err(datastore_status)?;
        tracing::info!(
            target: "tessera::audit",
            event = "oauth_client_secret_rotated",
            actor = "admin_api",
            tenant = %store.tenant(),
            client_id = %client.client_id,
            grace_period_secs = grace.as_secs(),
            previous_valid_until = record.previous_valid_until,
        );
        Ok(Response::new(CreateClientResponse {
            client: Some(stored),
            client_secret: secret.expose().to_string(),
        }))
    }
}

#[cfg(test)]
#[path = "clients_tests.rs"]
mod tests;
