//! [`AgentMetrics`]: every agent metric, registered under `tessera_agent_`.

use prometheus_client::registry::Registry;
use tessera_proto::metrics::register_build_info;

use super::{ManagerMetrics, WorkloadApiMetrics, WorkloadAttestationMetrics};

/// The prefix of every agent metric but `tessera_build_info`.
pub const PREFIX: &str = "tessera_agent";

/// The agent's metrics, by the part that records them.
#[derive(Debug, Clone, Default)]
pub struct AgentMetrics {
    /// The Workload API: connections, streams, calls.
    pub workload_api: WorkloadApiMetrics,
    /// Workload attestation.
    pub attestation: WorkloadAttestationMetrics,
    /// The manager: cache, syncs, rotations.
    pub manager: ManagerMetrics,
}

impl AgentMetrics {
    /// Every agent metric registered on a new registry (with `tessera_build_info`).
    pub fn registered() -> (Self, Registry) {
        let mut root = Registry::default();
        register_build_info(&mut root, "tessera-agent", env!("CARGO_PKG_VERSION"));
        let registry = root.sub_registry_with_prefix(PREFIX);
        let metrics = Self {
            workload_api: WorkloadApiMetrics::registered(registry),
            attestation: WorkloadAttestationMetrics::registered(registry),
            manager: ManagerMetrics::registered(registry),
        };
        (metrics, root)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_named() {
        let (metrics, registry) = AgentMetrics::registered();
        // Families keyed by labels that are not pre-created show once used.
        metrics.manager.rotated(super::super::RotationReason::New);
        let _ = metrics
            .workload_api
            .call(super::super::Rpc::FetchJwtSvid, Ok(()));
        let text = tessera_proto::metrics::encode(&registry).unwrap();
        assert!(
            text.contains("tessera_build_info{binary=\"tessera-agent\""),
            "{text}"
        );
        for name in [
            "tessera_agent_workload_api_connections_total",
            "tessera_agent_workload_api_open_connections",
            "tessera_agent_workload_api_open_streams",
            "tessera_agent_workload_api_calls_total",
            "tessera_agent_workload_attestations_total",
            "tessera_agent_cache_entries",
            "tessera_agent_cache_x509_svids",
            "tessera_agent_x509_svid_rotations_total",
            "tessera_agent_sync_duration_seconds",
            "tessera_agent_sync_entries",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name}")),
                "{name} missing: {text}"
            );
        }
    }
}
