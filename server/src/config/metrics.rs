//! `[metrics]` of `server.toml`.

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
    /// Adds `client_id` (of authenticated clients only) to the OAuth token metrics. Off by
    /// default: one series per client grows with the number of registered clients.
    #[serde(default)]
    pub client_id_labels: bool,
}
