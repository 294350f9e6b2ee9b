//! The RPCs of the SPIFFE Workload API. FetchWITSVID / FetchWITBundles are not in our proto:
//! tonic answers them `Unimplemented`.

use tessera_proto::wire::workload::spiffe_workload_api_server::SpiffeWorkloadApi;
use tessera_proto::wire::workload::{
    JwtBundlesRequest, JwtBundlesResponse, Jwtsvid, JwtsvidRequest, JwtsvidResponse,
    ValidateJwtsvidRequest, ValidateJwtsvidResponse, X509BundlesRequest, X509BundlesResponse,
    X509svidRequest, X509svidResponse,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::api::{WorkloadApi, admit};
use super::claims::to_proto_struct;
use super::error::RpcError;
use super::jwt_cache::JwtKey;
use super::ports::{CallerSelectors, JwtMinter};
use super::responses::{jwt_bundles_response, x509_bundles_response, x509_svid_response};
use super::stream;
use crate::metrics::Rpc;
use tessera_proto::jwt_svid::validate_jwt_svid;

/// Most audiences one `FetchJWTSVID` may name (each distinct set is minted and cached).
pub const MAX_AUDIENCES: usize = 16;
/// Longest audience `FetchJWTSVID` accepts, in bytes.
pub const MAX_AUDIENCE_LEN: usize = 512;

/// One JWT-SVID to hand out: the entry it is minted for.
struct Target {
    entry_id: String,
    spiffe_id: String,
    hint: String,
}

#[tonic::async_trait]
impl<A: CallerSelectors, M: JwtMinter> SpiffeWorkloadApi for WorkloadApi<A, M> {
    type FetchX509SVIDStream = ReceiverStream<Result<X509svidResponse, Status>>;
    type FetchX509BundlesStream = ReceiverStream<Result<X509BundlesResponse, Status>>;
    type FetchJWTBundlesStream = ReceiverStream<Result<JwtBundlesResponse, Status>>;

    async fn fetch_x509svid(
        &self,
        request: Request<X509svidRequest>,
    ) -> Result<Response<Self::FetchX509SVIDStream>, Status> {
        let guard = self.metrics.stream_opened(Rpc::FetchX509Svid);
        let opened = match admit(&request) {
            Ok(caller) => stream::open(&self.inner, &caller, x509_svid_response, guard).await,
            Err(e) => Err(e.into()),
        };
        self.metrics
            .call(Rpc::FetchX509Svid, opened.map(Response::new))
    }

    async fn fetch_x509_bundles(
        &self,
        request: Request<X509BundlesRequest>,
    ) -> Result<Response<Self::FetchX509BundlesStream>, Status> {
        let guard = self.metrics.stream_opened(Rpc::FetchX509Bundles);
        let opened = match admit(&request) {
            Ok(caller) => stream::open(&self.inner, &caller, x509_bundles_response, guard).await,
            Err(e) => Err(e.into()),
        };
        self.metrics
            .call(Rpc::FetchX509Bundles, opened.map(Response::new))
    }

    async fn fetch_jwt_bundles(
        &self,
        request: Request<JwtBundlesRequest>,
    ) -> Result<Response<Self::FetchJWTBundlesStream>, Status> {
        let guard = self.metrics.stream_opened(Rpc::FetchJwtBundles);
        let opened = match admit(&request) {
            Ok(caller) => stream::open(&self.inner, &caller, jwt_bundles_response, guard).await,
            Err(e) => Err(e.into()),
        };
        self.metrics
            .call(Rpc::FetchJwtBundles, opened.map(Response::new))
    }

    /// JWT-SVIDs for the requested identity (or every identity of the caller), reused from
    /// the cache until half their lifetime has passed.
    async fn fetch_jwtsvid(
        &self,
        request: Request<JwtsvidRequest>,
    ) -> Result<Response<JwtsvidResponse>, Status> {
        let answer = self.answer_fetch_jwtsvid(request).await;
        self.metrics.call(Rpc::FetchJwtSvid, answer)
    }

    /// Checks a JWT-SVID against the own and federated JWT authorities.
    async fn validate_jwtsvid(
        &self,
        request: Request<ValidateJwtsvidRequest>,
    ) -> Result<Response<ValidateJwtsvidResponse>, Status> {
        let answer = self.answer_validate_jwtsvid(request).await;
        self.metrics.call(Rpc::ValidateJwtSvid, answer)
    }
}

impl<A: CallerSelectors, M: JwtMinter> WorkloadApi<A, M> {
    /// `FetchJWTSVID`, recorded by the caller.
    async fn answer_fetch_jwtsvid(
        &self,
        request: Request<JwtsvidRequest>,
    ) -> Result<Response<JwtsvidResponse>, Status> {
        let caller = admit(&request)?;
        let JwtsvidRequest {
            audience,
            spiffe_id,
        } = request.into_inner();
        if audience.is_empty() || audience.iter().any(String::is_empty) {
            return Err(RpcError::MissingField("audience").into());
        }
        if audience.len() > MAX_AUDIENCES {
            return Err(RpcError::TooManyAudiences {
                count: audience.len(),
                max: MAX_AUDIENCES,
            }
            .into());
        }
        if audience.iter().any(|a| a.len() > MAX_AUDIENCE_LEN) {
            return Err(RpcError::AudienceTooLong {
                max: MAX_AUDIENCE_LEN,
            }
            .into());
        }
        let inner = &self.inner;
        let mut targets = inner
            .view(&caller, inner.current(), |_, ids| {
                ids.iter()
                    .map(|id| Target {
                        entry_id: id.entry.id.clone(),
                        spiffe_id: id.svid.spiffe_id.clone(),
                        hint: id.entry.hint.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        if !spiffe_id.is_empty() {
            targets.retain(|t| t.spiffe_id == spiffe_id);
            if targets.is_empty() {
                return Err(RpcError::NotCallersIdentity.into());
            }
        }
        let mut svids = Vec::with_capacity(targets.len());
        for target in targets {
            let key = JwtKey::new(&target.entry_id, &audience);
            let now = inner.clock.now();
            let svid = match inner.jwt_cache.get(&key, now) {
                Some(svid) => svid,
                None => {
                    let svid = inner
                        .minter
                        .mint_jwt_svid(&target.entry_id, audience.clone())
                        .await
                        .map_err(RpcError::from)?;
                    inner.jwt_cache.put(key, svid.clone(), now);
                    svid
                }
            };
            svids.push(Jwtsvid {
                spiffe_id: target.spiffe_id,
                svid: svid.token,
                hint: target.hint,
            });
        }
        Ok(Response::new(JwtsvidResponse { svids }))
    }

    /// `ValidateJWTSVID`, recorded by the caller.
    async fn answer_validate_jwtsvid(
        &self,
        request: Request<ValidateJwtsvidRequest>,
    ) -> Result<Response<ValidateJwtsvidResponse>, Status> {
        let caller = admit(&request)?;
        let ValidateJwtsvidRequest { audience, svid } = request.into_inner();
        if audience.is_empty() {
            return Err(RpcError::MissingField("audience").into());
        }
        if svid.is_empty() {
            return Err(RpcError::MissingField("svid").into());
        }
        let inner = &self.inner;
        let now = inner.clock.now();
        let validated = inner
            .view(&caller, inner.current(), |state, _| {
                validate_jwt_svid(
                    &svid,
                    &audience,
                    std::iter::once(&state.bundle).chain(&state.federated_bundles),
                    now,
                )
            })
            .await?
            .map_err(|e| {
                tracing::debug!(reason = %e, "JWT-SVID validation failed");
                RpcError::from(e)
            })?;
        Ok(Response::new(ValidateJwtsvidResponse {
            spiffe_id: validated.spiffe_id.into_string(),
            claims: Some(to_proto_struct(&validated.claims)),
        }))
    }
}
