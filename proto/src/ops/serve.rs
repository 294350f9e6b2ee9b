//! [`serve_during`]: the operations endpoints around a process's parts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::{EndpointError, HttpEndpoint};
use crate::health::Lifecycle;

/// What a process serves over plain HTTP besides its APIs; each is off unless its address
/// is set. The same address for both serves `/live`, `/ready` and `/metrics` on one port.
#[derive(Debug, Default)]
pub struct OpsEndpoints {
    /// `[health] bind_address`: `/live` and `/ready`.
    pub health: Option<SocketAddr>,
    /// `[metrics] bind_address` and the registry `/metrics` encodes on every scrape.
    pub metrics: Option<(SocketAddr, Arc<Registry>)>,
}

impl OpsEndpoints {
    /// The routers by address (merged when both use one address).
    fn routes(self, lifecycle: &Lifecycle) -> Vec<(&'static str, SocketAddr, Router)> {
        let health = self
            .health
            .map(|a| ("health", a, crate::health::router(lifecycle.readiness())));
        let metrics = self
            .metrics
            .map(|(a, registry)| ("metrics", a, crate::metrics::router(registry)));
        match (health, metrics) {
            (Some((_, h, hr)), Some((_, m, mr))) if h == m => {
                vec![("health+metrics", h, hr.merge(mr))]
            }
            (h, m) => h.into_iter().chain(m).collect(),
        }
    }
}

/// Runs `parts` with the operations endpoints served from before they start until they
/// have drained: the endpoints are bound first (a taken port is an error, returned before
/// `parts` runs), readiness flips to `shutting_down` when `parts` returns, and the
/// endpoints get `grace` to stop. `parts` publishes its phases on `lifecycle`.
pub async fn serve_during<T>(
    endpoints: OpsEndpoints,
    lifecycle: &Lifecycle,
    grace: Duration,
    parts: impl std::future::Future<Output = T>,
) -> Result<T, EndpointError> {
    let mut bound = Vec::new();
    for (what, address, router) in endpoints.routes(lifecycle) {
        let endpoint = HttpEndpoint::bind(what, address, router).await?;
        tracing::info!(%address, what, "operations endpoint listening");
        bound.push(endpoint);
    }
    let stop = CancellationToken::new();
    let tasks: Vec<_> = bound
        .into_iter()
        .map(|e| (e.what(), tokio::spawn(e.run(stop.clone()))))
        .collect();
    let result = parts.await;
    lifecycle.stopping();
    stop.cancel();
    for (what, task) in tasks {
        match tokio::time::timeout(grace, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "operations endpoint failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, what, "operations endpoint task failed"),
            Err(_) => tracing::warn!(what, "endpoint still running after {grace:?}"),
        }
    }
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_address_serves_both() {
        let lifecycle = Lifecycle::new();
        let a: SocketAddr = ([127, 0, 0, 1], 1).into();
        let b: SocketAddr = ([127, 0, 0, 1], 2).into();
        let registry = Arc::new(Registry::default());
        let both = OpsEndpoints {
            health: Some(a),
            metrics: Some((a, registry.clone())),
        };
        let routes = both.routes(&lifecycle);
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].0, "health+metrics");
        let apart = OpsEndpoints {
            health: Some(a),
            metrics: Some((b, registry)),
        };
        let names: Vec<_> = apart.routes(&lifecycle).iter().map(|r| r.0).collect();
        assert_eq!(names, ["health", "metrics"]);
        assert!(OpsEndpoints::default().routes(&lifecycle).is_empty());
    }

    #[tokio::test]
    async fn a_taken_port_fails_before_the_parts_run() {
        let lifecycle = Lifecycle::new();
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = taken.local_addr().unwrap();
        let endpoints = OpsEndpoints {
            health: None,
            metrics: Some((address, Arc::new(Registry::default()))),
        };
        let ran = std::sync::atomic::AtomicBool::new(false);
        let result = serve_during(endpoints, &lifecycle, Duration::from_secs(1), async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        assert!(matches!(
            result,
            Err(EndpointError::Bind {
                what: "metrics",
                ..
            })
        ));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
