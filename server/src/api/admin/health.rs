//! `tessera.admin.v1.Health`: the server's one readiness function (the same as `/ready`).

use tessera_proto::health::Readiness;
use tessera_proto::wire::tessera::admin::v1::health_server::Health;
use tessera_proto::wire::tessera::admin::v1::{HealthCheckRequest, HealthCheckResponse};
use tonic::{Request, Response, Status};

/// Answers health checks; serving means ready (as `/ready` answers 200).
#[derive(Debug)]
pub struct HealthService {
    trust_domain: String,
    readiness: Readiness,
}

impl HealthService {
    /// A health service for `trust_domain` answering from `readiness`.
    pub fn new(trust_domain: String, readiness: Readiness) -> Self {
        Self {
            trust_domain,
            readiness,
        }
    }
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let report = self.readiness.check().await;
        Ok(Response::new(HealthCheckResponse {
            serving: report.is_ready(),
            trust_domain: self.trust_domain.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            not_ready: report.reasons().iter().map(|r| (*r).to_owned()).collect(),
        }))
    }
}
