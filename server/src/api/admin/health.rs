//! `tessera.admin.v1.Health`.

use tessera_proto::wire::tessera::admin::v1::health_server::Health;
use tessera_proto::wire::tessera::admin::v1::{HealthCheckRequest, HealthCheckResponse};
use tonic::{Request, Response, Status};

/// Answers health checks; serving means the CA is loaded and the API is up.
#[derive(Debug)]
pub struct HealthService {
    trust_domain: String,
}

impl HealthService {
    /// A health service for `trust_domain`.
    pub fn new(trust_domain: String) -> Self {
        Self { trust_domain }
    }
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            serving: true,
            trust_domain: self.trust_domain.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }))
    }
}
