//! `[metrics]` of `agent.toml` (the server's section adds its own opt-ins).

use std::net::SocketAddr;

use serde::Deserialize;

/// `[metrics]`: the Prometheus endpoint, off unless `bind_address` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// `host:port` serving `/metrics` over plain HTTP; e.g. `127.0.0.1:9090`. May equal
    /// `[health] bind_address` (one port for probes and metrics).
    #[serde(default)]
    pub bind_address: Option<SocketAddr>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        metrics: MetricsSection,
    }

    #[test]
    fn off_unless_set() {
        let doc: Doc = toml::from_str("").unwrap();
        assert_eq!(doc.metrics.bind_address, None);
        let doc: Doc = toml::from_str("[metrics]\nbind_address = \"127.0.0.1:9090\"\n").unwrap();
        assert_eq!(
            doc.metrics.bind_address,
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        assert!(toml::from_str::<Doc>("[metrics]\nport = 1\n").is_err());
    }
}
