//! `GET /metrics`: the registry in the Prometheus text format (version 0.0.4).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The registry as Prometheus text.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(16 * 1024);
    prometheus_text::encode(&mut out, registry)?;
    Ok(out)
}

/// `/metrics`, encoding `registry` on every scrape.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry)
}

async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    match encode(&registry) {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;
    use crate::metrics::register_build_info;

    #[test]
    fn text_format_with_build_info() {
        let mut registry = Registry::default();
        register_build_info(&mut registry, "tessera-test", "1.2.3");
        let counter: Counter = Counter::default();
        registry.sub_registry_with_prefix("tessera_test").register(
            "things",
            "Things done",
            counter.clone(),
        );
        counter.inc();
        let text = encode(&registry).unwrap();
        assert!(
            text.contains("tessera_build_info{binary=\"tessera-test\",version=\"1.2.3\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tessera_test_things_total counter\n"),
            "{text}"
        );
        assert!(text.contains("tessera_test_things_total 1\n"), "{text}");
        assert!(
            !text.contains("# EOF"),
            "Prometheus text, not OpenMetrics: {text}"
        );
    }
}
