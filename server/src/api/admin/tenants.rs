//! `tessera.admin.v1.Tenants`: creating, renaming, listing and deleting tenants. Every
//! change is an audit event.

use std::sync::Arc;

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::wire::tessera::admin::v1::tenants_server::Tenants;
use tessera_proto::wire::tessera::admin::v1::{
    CreateTenantRequest, DeleteTenantRequest, DeleteTenantResponse, GetTenantRequest,
    ListTenantsRequest, ListTenantsResponse, Tenant, TenantResponse, UpdateTenantRequest,
};
use tonic::{Request, Response, Status};

use crate::api::datastore_status;
use crate::ca::CaManager;
use crate::datastore::{
    BundleStore, CaJournalStore, DatastoreError, TenantId, TenantRecord, TenantStore,
};
use crate::oauth::realms::sync_tenants;

/// The longest tenant name.
pub const MAX_TENANT_NAME: usize = 200;

/// Operator access to the tenants.
#[derive(Debug)]
pub struct TenantsService<S> {
    store: S,
    ca: Arc<CaManager<S>>,
    clock: Arc<dyn Clock>,
}

impl<S> TenantsService<S> {
    /// A service over the tenants in `store`, giving `ca` their list after each change
    /// (a new tenant can sign at once on this replica), stamping times read from `clock`.
    pub fn new(store: S, ca: Arc<CaManager<S>>, clock: Arc<dyn Clock>) -> Self {
        Self { store, ca, clock }
    }
}

impl<S: TenantStore + CaJournalStore + BundleStore> TenantsService<S> {
    /// Tenant `id`, or `NotFound` naming it.
    async fn existing(&self, id: &TenantId) -> Result<TenantRecord, Status> {
        self.store
            .get_tenant(id)
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| not_found(id))
    }

    /// Hands the CA the changed list; a failure is logged (the periodic sync retries).
    async fn keys(&self) {
        if let Err(e) = sync_tenants(&self.ca, &self.store).await {
            tracing::warn!(error = %e, "could not give the CA the tenants; retried shortly");
        }
    }
}

fn to_wire(t: &TenantRecord) -> Tenant {
    Tenant {
        id: t.id.to_string(),
        name: t.name.clone(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

fn reply(t: &TenantRecord) -> Response<TenantResponse> {
    Response::new(TenantResponse {
        tenant: Some(to_wire(t)),
    })
}

fn id(text: &str) -> Result<TenantId, Status> {
    TenantId::parse(text).map_err(|e| Status::invalid_argument(format!("id: {e}")))
}

fn name(text: &str) -> Result<String, Status> {
    let text = text.trim();
    if text.chars().count() > MAX_TENANT_NAME || text.chars().any(char::is_control) {
        return Err(Status::invalid_argument(format!(
            "name: at most {MAX_TENANT_NAME} characters, no control characters"
        )));
    }
    Ok(text.to_owned())
}

fn not_found(id: &TenantId) -> Status {
    Status::not_found(format!("no tenant {:?}", id.as_str()))
}

fn audit(event: &'static str, tenant: &TenantId) {
    tracing::info!(
        target: "tessera::audit",
        event,
        actor = "admin_api",
        tenant = %tenant,
    );
}

#[tonic::async_trait]
impl<S: TenantStore + CaJournalStore + BundleStore> Tenants for TenantsService<S> {
    async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<TenantResponse>, Status> {
        let wire = request
            .into_inner()
            .tenant
            .ok_or_else(|| Status::invalid_argument("tenant: required"))?;
        let id = id(&wire.id)?;
        let now = unix_seconds(self.clock.now());
        let record = TenantRecord {
            name: if wire.name.trim().is_empty() {
                id.to_string()
            } else {
                name(&wire.name)?
            },
            id,
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_tenant(&record)
            .await
            .map_err(|e| match e {
                DatastoreError::AlreadyExists(_) => Status::already_exists(format!(
                    "tenant {:?} already exists",
                    record.id.as_str()
                )),
                other => datastore_status(other),
            })?;
        audit("tenant_created", &record.id);
        self.keys().await;
        Ok(reply(&record))
    }

    async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<TenantResponse>, Status> {
        let id = id(&request.into_inner().id)?;
        Ok(reply(&self.existing(&id).await?))
    }

    async fn list_tenants(
        &self,
        _request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        let all = self.store.list_tenants().await.map_err(datastore_status)?;
        Ok(Response::new(ListTenantsResponse {
            tenants: all.iter().map(to_wire).collect(),
        }))
    }

    async fn update_tenant(
        &self,
        request: Request<UpdateTenantRequest>,
    ) -> Result<Response<TenantResponse>, Status> {
        let wire = request
            .into_inner()
            .tenant
            .ok_or_else(|| Status::invalid_argument("tenant: required"))?;
        let id = id(&wire.id)?;
        let mut record = self.existing(&id).await?;
        record.name = name(&wire.name)?;
        record.updated_at = unix_seconds(self.clock.now());
        self.store
            .update_tenant(&record)
            .await
            .map_err(|e| match e {
                DatastoreError::NotFound(_) => not_found(&id),
                other => datastore_status(other),
            })?;
        audit("tenant_updated", &id);
        Ok(reply(&record))
    }

    async fn delete_tenant(
        &self,
        request: Request<DeleteTenantRequest>,
    ) -> Result<Response<DeleteTenantResponse>, Status> {
        let id = id(&request.into_inner().id)?;
        if id.is_default() {
            return Err(Status::invalid_argument(
                "the default tenant cannot be deleted",
            ));
        }
        if !self
            .store
            .delete_tenant(&id)
            .await
            .map_err(datastore_status)?
        {
            return Err(not_found(&id));
        }
        audit("tenant_deleted", &id);
        self.keys().await;
        Ok(Response::new(DeleteTenantResponse {}))
    }
}
