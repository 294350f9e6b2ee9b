//! [`WorkloadEndpoint`]: the Workload API served on its Unix socket as one background part
//! (`run(self, shutdown)`).

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use super::api::WorkloadApi;
use super::conn::WorkloadConn;
use super::error::ServeError;
use super::ports::{CallerSelectors, JwtMinter};
use super::sds::SdsApi;
use super::socket::{BoundSocket, incoming};
use crate::config::{SdsSection, WorkloadApiSection};

/// The Workload API on `socket_path`.
#[derive(Debug)]
pub struct WorkloadEndpoint<A, M> {
    socket_path: PathBuf,
    api: WorkloadApi<A, M>,
    limits: WorkloadApiSection,
    sds: SdsSection,
}

impl<A: CallerSelectors, M: JwtMinter> WorkloadEndpoint<A, M> {
    /// Serves `api` on `socket_path` once run.
    pub fn new(socket_path: PathBuf, api: WorkloadApi<A, M>) -> Self {
        Self {
            socket_path,
            api,
            limits: WorkloadApiSection::default(),
            sds: SdsSection::default(),
        }
    }

    /// Replaces the default SDS resource names (`[sds]`).
    pub fn with_sds(mut self, sds: SdsSection) -> Self {
        self.sds = sds;
        self
    }

    /// Replaces the default connection and stream bounds (`[workload_api]`).
    pub fn with_limits(mut self, limits: WorkloadApiSection) -> Self {
        self.limits = limits;
        self
    }

    /// Binds the socket (see [`BoundSocket::bind`]) and serves until `shutdown`; then ends
    /// every stream, lets connections drain and removes the socket file.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServeError> {
        let bound = BoundSocket::bind(&self.socket_path)
            .await
            .map_err(|source| ServeError::Bind {
                path: self.socket_path.display().to_string(),
                source,
            })?;
        tracing::info!("Workload API listening on {}", self.socket_path.display());
        let (listener, file) = bound.into_parts();
        let metrics = self.api.metrics.clone();
        let counted = incoming(listener, self.limits.max_connections)
            .map(move |conn| conn.map(|c| c.with_guard(metrics.connection_opened())));
        let result = serve_with_sds(
            self.api,
            self.sds,
            counted,
            self.limits.max_concurrent_streams,
            shutdown,
        )
        .await;
        file.remove();
        result
    }
}

/// Serves `api` over any stream of accepted connections until `shutdown` (streams are ended
/// first so the graceful drain does not wait on them).
pub async fn serve<A, M, IO, S>(
    api: WorkloadApi<A, M>,
    incoming: S,
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    A: CallerSelectors,
    M: JwtMinter,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Stream<Item = std::io::Result<WorkloadConn<IO>>> + Send + 'static,
{
    serve_with(
        api,
        incoming,
        WorkloadApiSection::default().max_concurrent_streams,
        shutdown,
    )
    .await
}

/// [`serve`] with at most `max_concurrent_streams` calls at once per connection.
pub async fn serve_with<A, M, IO, S>(
    api: WorkloadApi<A, M>,
    incoming: S,
    max_concurrent_streams: u32,
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    A: CallerSelectors,
    M: JwtMinter,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Stream<Item = std::io::Result<WorkloadConn<IO>>> + Send + 'static,
{
    serve_with_sds(
        api,
        SdsSection::default(),
        incoming,
        max_concurrent_streams,
        shutdown,
    )
    .await
}

/// [`serve_with`], and Envoy SDS ([`SdsApi`]) with the resource names of `sds` on the same
/// connections.
pub async fn serve_with_sds<A, M, IO, S>(
    api: WorkloadApi<A, M>,
    sds: SdsSection,
    incoming: S,
    max_concurrent_streams: u32,
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    A: CallerSelectors,
    M: JwtMinter,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Stream<Item = std::io::Result<WorkloadConn<IO>>> + Send + 'static,
{
    let stopper = api.clone();
    let sds = SdsApi::new(api.clone(), sds);
    Server::builder()
        .max_concurrent_streams(Some(max_concurrent_streams))
        .add_service(api.into_service())
        .add_service(sds.into_service())
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.cancelled().await;
            stopper.stop_streams();
        })
        .await?;
    Ok(())
}
