//! `tessera.admin.v1.Access`: who the caller is, from the grant the access gate attached.

use tessera_proto::wire::tessera::admin::v1::access_server::Access;
use tessera_proto::wire::tessera::admin::v1::{WhoAmIRequest, WhoAmIResponse};
use tonic::{Request, Response, Status};

use super::caller_grant;

/// The `Access` service.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessService;

#[tonic::async_trait]
impl Access for AccessService {
    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        let grant = caller_grant(&request)?;
        Ok(Response::new(WhoAmIResponse {
            principal: grant.principal.clone(),
            role: grant.role.name().to_string(),
            permissions: grant
                .role
                .permissions()
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
            tenant: grant
                .tenant
                .as_ref()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
        }))
    }
}
