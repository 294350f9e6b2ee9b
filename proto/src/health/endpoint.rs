//! `GET /live` and `GET /ready` over plain HTTP/1.1 (kubelet probes, load balancers).

use super::Readiness;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;

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

    use std::net::SocketAddr;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::health::{Lifecycle, Probe, ProbeFuture, Report};
    use crate::ops::HttpEndpoint;

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
        let endpoint = HttpEndpoint::bind(
            "health",
            ([127, 0, 0, 1], 0).into(),
            router(lifecycle.readiness()),
        )
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
