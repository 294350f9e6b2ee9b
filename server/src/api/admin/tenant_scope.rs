//! Which tenant a tenant-scoped admin call (users, OAuth clients) acts in: the
//! `x-tessera-tenant` request metadata (what `--tenant` sets), `default` when absent.

use tonic::{Request, Status};

use crate::api::datastore_status;
use crate::datastore::{TenantId, TenantScope, TenantStore};

/// The request metadata naming the tenant.
pub const TENANT_METADATA: &str = "x-tessera-tenant";

/// The tenant `request` names (`default` when it names none); `InvalidArgument` for a
/// malformed ID.
pub fn requested_tenant<T>(request: &Request<T>) -> Result<TenantId, Status> {
    let Some(value) = request.metadata().get(TENANT_METADATA) else {
        return Ok(TenantId::default_tenant());
    };
    let text = value
        .to_str()
        .map_err(|_| Status::invalid_argument(format!("{TENANT_METADATA}: not text")))?;
    TenantId::parse_or_default(text)
        .map_err(|e| Status::invalid_argument(format!("{TENANT_METADATA}: {e}")))
}

/// `store` scoped to the tenant `request` names, which must exist (`NotFound` naming it
/// otherwise).
pub async fn scoped<S: TenantStore + TenantScope, T>(
    store: &S,
    request: &Request<T>,
) -> Result<S, Status> {
    let tenant = requested_tenant(request)?;
    if tenant == *store.tenant() {
        return store.for_tenant(&tenant).map_err(datastore_status);
    }
    if store
        .get_tenant(&tenant)
        .await
        .map_err(datastore_status)?
        .is_none()
    {
        return Err(Status::not_found(format!(
            "no tenant {:?}",
            tenant.as_str()
        )));
    }
    store.for_tenant(&tenant).map_err(datastore_status)
}
