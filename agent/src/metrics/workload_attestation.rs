//! Workload attestations, by attestor and result.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tessera_proto::label_values;
use tessera_proto::metrics::Outcome;

label_values! {
    /// A workload attestor.
    pub enum WorkloadAttestor {
        /// `unix` (always on).
        Unix => "unix",
        /// `k8s`.
        K8s => "k8s",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Labels {
    attestor: WorkloadAttestor,
    result: Outcome,
}

/// `workload_attestations_total{attestor, result}`.
#[derive(Debug, Clone, Default)]
pub struct WorkloadAttestationMetrics {
    attestations: Family<Labels, Counter>,
}

impl WorkloadAttestationMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "workload_attestations",
            "Workload attestations (once per Workload API connection), by attestor and \
             result (ok, error)",
            m.attestations.clone(),
        );
        for result in [Outcome::Ok, Outcome::Error] {
            let _ = m.attestations.get_or_create(&Labels {
                attestor: WorkloadAttestor::Unix,
                result,
            });
        }
        m
    }

    /// `attestor` ran and ended with `result`.
    pub fn record(&self, attestor: WorkloadAttestor, result: Outcome) {
        self.attestations
            .get_or_create(&Labels { attestor, result })
            .inc();
    }
}
