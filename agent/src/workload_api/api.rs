//! [`WorkloadApi`]: the Workload API service state and what every RPC does first — check the
//! security header, identify and attest the caller, find its identities.

use std::sync::Arc;

use tessera_proto::clock::Clock;
use tessera_proto::wire::workload::spiffe_workload_api_server::SpiffeWorkloadApiServer;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::conn::WorkloadConnInfo;
use super::error::RpcError;
use super::identity::{CallerIdentity, caller_identities};
use super::jwt_cache::JwtCache;
use super::ports::{CallerSelectors, JwtMinter};
use tessera_proto::identity::Selector;

use crate::attestor::workload::Caller;
use crate::manager::AgentState;
use crate::metrics::WorkloadApiMetrics;

/// The metadata key every Workload API request must carry with the value `true`.
pub const SECURITY_HEADER: &str = "workload.spiffe.io";

/// The manager's published snapshots.
pub type StateRx = watch::Receiver<Option<Arc<AgentState>>>;

/// The SPIFFE Workload API over the agent's state. Generic over the caller's selectors
/// (`A`, [`crate::attestor::workload::WorkloadAttestors`] in the agent) and JWT-SVID minting
/// (`M`, [`crate::client::AgentApi`]). Cheap to clone.
#[derive(Debug)]
pub struct WorkloadApi<A, M> {
    pub(super) inner: Arc<Inner<A, M>>,
    pub(super) metrics: WorkloadApiMetrics,
}

impl<A, M> Clone for WorkloadApi<A, M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            metrics: self.metrics.clone(),
        }
    }
}

/// Shared by every call and stream task.
#[derive(Debug)]
pub(super) struct Inner<A, M> {
    pub(super) state: StateRx,
    pub(super) attestor: A,
    pub(super) minter: M,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) jwt_cache: JwtCache,
    /// Cancelled on shutdown: stream tasks end so connections can drain.
    pub(super) stop: CancellationToken,
}

impl<A: CallerSelectors, M: JwtMinter> WorkloadApi<A, M> {
    /// A service answering from `state` (the manager's `subscribe()`), attesting callers with
    /// `attestor`, minting JWT-SVIDs with `minter`, reading time from `clock`.
    pub fn new(state: StateRx, attestor: A, minter: M, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state,
                attestor,
                minter,
                clock,
                jwt_cache: JwtCache::default(),
                stop: CancellationToken::new(),
            }),
            metrics: WorkloadApiMetrics::default(),
        }
    }

    /// Records connections, streams and calls in `metrics`.
    pub fn with_metrics(mut self, metrics: WorkloadApiMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Ends every open stream (and refuses new ones); used when the server shuts down.
    pub fn stop_streams(&self) {
        self.inner.stop.cancel();
    }

    /// The tonic service.
    pub fn into_service(self) -> SpiffeWorkloadApiServer<Self> {
        SpiffeWorkloadApiServer::new(self)
    }
}

/// The security header check and the connection (caller, attestation) of a request.
pub(super) fn admit<T>(request: &Request<T>) -> Result<WorkloadConnInfo, RpcError> {
    let ok = request
        .metadata()
        .get(SECURITY_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true");
    if !ok {
        return Err(RpcError::MissingHeader);
    }
    Ok(request
        .extensions()
        .get::<WorkloadConnInfo>()
        .cloned()
        .unwrap_or_default())
}

impl<A: CallerSelectors, M: JwtMinter> Inner<A, M> {
    /// Attests the caller of `conn` against `state` and renders what it may see:
    /// `Unavailable` before the first sync, `PermissionDenied` without an identity.
    pub(super) async fn view<R>(
        &self,
        conn: &WorkloadConnInfo,
        state: Option<Arc<AgentState>>,
        render: impl FnOnce(&AgentState, &[CallerIdentity<'_>]) -> R,
    ) -> Result<R, RpcError> {
        let state = state.ok_or(RpcError::NotSynced)?;
        let selectors = self.attest(conn).await?;
        self.render_for(conn.caller, &state, &selectors, render)
    }

    /// The selectors of the caller of `conn`: the pinned process must still be behind its
    /// PID (`PermissionDenied` otherwise); the attestors run once per connection, later
    /// calls reuse their result (a failed attestation is not remembered).
    pub(super) async fn attest(&self, conn: &WorkloadConnInfo) -> Result<Vec<Selector>, RpcError> {
        let caller = conn.caller.ok_or(RpcError::NoCaller)?;
        self.attestor.still_there(caller)?;
        let selectors = conn
            .selectors
            .get_or_try_init(|| self.attestor.selectors(caller))
            .await?;
        Ok(selectors.clone())
    }

    /// Renders what a caller with `selectors` may see in `state`; `PermissionDenied`
    /// without an identity.
    pub(super) fn render_for<R>(
        &self,
        caller: Option<Caller>,
        state: &AgentState,
        selectors: &[Selector],
        render: impl FnOnce(&AgentState, &[CallerIdentity<'_>]) -> R,
    ) -> Result<R, RpcError> {
        let ids = caller_identities(state, selectors, self.clock.now());
        if ids.is_empty() {
            if let Some(caller) = caller {
                tracing::debug!(
                    pid = caller.pid,
                    uid = caller.uid,
                    "no identity for the caller"
                );
            }
            return Err(RpcError::NoIdentity);
        }
        Ok(render(state, &ids))
    }

    /// The latest state.
    pub(super) fn current(&self) -> Option<Arc<AgentState>> {
        self.state.borrow().clone()
    }
}
