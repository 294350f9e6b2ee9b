//! [`SdsApi`]: the `SecretDiscoveryService` over the Workload API's state and attestation.

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server::{
    SecretDiscoveryService, SecretDiscoveryServiceServer,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::super::api::WorkloadApi;
use super::super::conn::WorkloadConnInfo;
use super::super::ports::{CallerSelectors, JwtMinter};
use super::catalog::Catalog;
use super::session::{requested_names, response};
use super::stream;
use crate::config::SdsSection;

/// Envoy SDS v3 for the callers of a [`WorkloadApi`] (same state, attestation, shutdown).
/// Cheap to clone.
#[derive(Debug)]
pub struct SdsApi<A, M> {
    api: WorkloadApi<A, M>,
    names: Arc<SdsSection>,
}

impl<A, M> Clone for SdsApi<A, M> {
    fn clone(&self) -> Self {
        Self {
            api: self.api.clone(),
            names: Arc::clone(&self.names),
        }
    }
}

impl<A: CallerSelectors, M: JwtMinter> SdsApi<A, M> {
    /// SDS over `api`'s state and callers, with the resource names of `names`.
    pub fn new(api: WorkloadApi<A, M>, names: SdsSection) -> Self {
        Self {
            api,
            names: Arc::new(names),
        }
    }

    /// The tonic service.
    pub fn into_service(self) -> SecretDiscoveryServiceServer<Self> {
        SecretDiscoveryServiceServer::new(self)
    }
}

/// The connection of a request (no security header: Envoy sends none, SPIRE asks none).
fn conn<T>(request: &Request<T>) -> WorkloadConnInfo {
    request
        .extensions()
        .get::<WorkloadConnInfo>()
        .cloned()
        .unwrap_or_default()
}

#[tonic::async_trait]
impl<A: CallerSelectors, M: JwtMinter> SecretDiscoveryService for SdsApi<A, M> {
    type DeltaSecretsStream = tokio_stream::Empty<Result<DeltaDiscoveryResponse, Status>>;
    type StreamSecretsStream = ReceiverStream<Result<DiscoveryResponse, Status>>;

    async fn delta_secrets(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaSecretsStream>, Status> {
        Err(Status::unimplemented(
            "DeltaSecrets is not implemented: use StreamSecrets",
        ))
    }

    async fn stream_secrets(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamSecretsStream>, Status> {
        let conn = conn(&request);
        stream::open(&self.api.inner, &self.names, &conn, request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    /// One answer for the requested names, without version or nonce (as SPIRE).
    async fn fetch_secrets(
        &self,
        request: Request<DiscoveryRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        let conn = conn(&request);
        let names = requested_names(request.get_ref())?;
        let inner = &self.api.inner;
        let secrets = inner
            .view(&conn, inner.current(), |state, ids| {
                Catalog::build(state, ids, &self.names).select(&names)
            })
            .await??;
        let mut secrets = secrets;
        let out = response(String::new(), String::new(), &secrets);
        secrets.iter_mut().for_each(super::catalog::scrub);
        Ok(Response::new(out))
    }
}
