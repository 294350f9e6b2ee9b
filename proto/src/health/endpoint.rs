//! `GET /live` and `GET /ready` over plain HTTP/1.1 (kubelet probes, load balancers).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Readiness;

/// Why the health endpoint could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// `[health] bind_address` could not be bound.
    #[error("health.bind_address {address}: {source}")]
    Bind {
        /// The configured address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("health endpoint: {0}")]
    Serve(std::io::Error),
}

/// Runs `parts` with `/live` and `/ready` served on `address` (when set) from before they
/// start until they have drained: the endpoint is bound first (a taken port is an error,
/// returned before `parts` runs), readiness flips to `shutting_down` when `parts` returns,
/// and the endpoint gets `grace` to stop. `parts` publishes its phases on `lifecycle`.
pub async fn serve_during<T>(
    address: Option<SocketAddr>,
    lifecycle: &super::Lifecycle,
    grace: std::time::Duration,
    parts: impl std::future::Future<Output = T>,
) -> Result<T, HealthError> {
    let endpoint = match address {
        Some(address) => {
            let endpoint = HealthEndpoint::bind(address, lifecycle.readiness()).await?;
            tracing::info!(%address, "health probes (/live, /ready) listening");
            Some(endpoint)
        }
        None => None,
    };
    let stop = CancellationToken::new();
    let task = endpoint.map(|e| tokio::spawn(e.run(stop.clone())));
    let result = parts.await;
    lifecycle.stopping();
    stop.cancel();
    if let Some(task) = task {
        match tokio::time::timeout(grace, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "health endpoint failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "health endpoint task failed"),
            Err(_) => tracing::warn!("health endpoint still running after {grace:?}"),
        }
    }
    Ok(result)
}

/// The bound endpoint, served by [`HealthEndpoint::run`].
#[derive(Debug)]
pub struct HealthEndpoint {
    listener: TcpListener,
    readiness: Readiness,
}

impl HealthEndpoint {
    /// Binds `address` (at start, so a taken port fails start-up).
    pub async fn bind(address: SocketAddr, readiness: Readiness) -> Result<Self, HealthError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| HealthError::Bind { address, source })?;
        Ok(Self {
            listener,
            readiness,
        })
    }

    /// The bound address (the port when `:0` was configured).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown`, then finishes the requests in flight.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), HealthError> {
        axum::serve(self.listener, router(self.readiness))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(HealthError::Serve)
    }
}

/// `/live` and `/ready`.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/live", get(live))
        .route("/ready", get(ready))
        .with_state(readiness)
}

/// 200 whenever the event loop answers.
async fn live() -> impl IntoResponse {
    Json(serde_json::json!({"status": "live"}))
}

/// 200 when ready; 503 naming what is not.
async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    let report = readiness.check().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report.body()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::health::{Lifecycle, Probe, ProbeFuture, Report};

    struct Down;

    impl Probe for Down {
        fn check(&self) -> ProbeFuture<'_> {
            Box::pin(async { Report::not_ready(["datastore"]) })
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        let status = out.lines().next().unwrap_or_default().to_owned();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        format!("{status} {body}")
    }

    #[tokio::test]
    async fn live_ready_and_shutdown() {
        let lifecycle = Lifecycle::new();
        let endpoint = HealthEndpoint::bind(([127, 0, 0, 1], 0).into(), lifecycle.readiness())
            .await
            .unwrap();
        let addr = endpoint.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(endpoint.run(shutdown.clone()));
        assert_eq!(
            get(addr, "/live").await,
            r#"HTTP/1.1 200 OK {"status":"live"}"#
        );
        assert_eq!(
            get(addr, "/ready").await,
            r#"HTTP/1.1 503 Service Unavailable {"not_ready":["starting"],"status":"not_ready"}"#
        );
        lifecycle.serving(Arc::new(Down));
        assert_eq!(
            get(addr, "/ready").await,
            r#"HTTP/1.1 503 Service Unavailable {"not_ready":["datastore"],"status":"not_ready"}"#
        );
        assert!(get(addr, "/metrics").await.starts_with("HTTP/1.1 404"));
        shutdown.cancel();
        task.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
