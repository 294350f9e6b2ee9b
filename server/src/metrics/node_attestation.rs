//! Node attestations answered by the agent API.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tessera_proto::label_values;

label_values! {
    /// The node attestor an agent asked for (an unknown name is `other`: the request
    /// chooses it, so it is never a label as sent).
    pub enum NodeAttestorLabel {
        /// `join_token`.
        JoinToken => "join_token",
        /// `k8s_psat`.
        K8sPsat => "k8s_psat",
        /// Anything else (refused).
        Other => "other",
    }
}

impl NodeAttestorLabel {
    /// The label for the attestor type an agent sent.
    pub fn of(requested: &str) -> Self {
        match requested {
            "join_token" => Self::JoinToken,
            "k8s_psat" => Self::K8sPsat,
            _ => Self::Other,
        }
    }
}

label_values! {
    /// How a node attestation ended.
    pub enum AttestationResult {
        /// Attested: the agent got its SVID.
        Ok => "ok",
        /// The evidence was refused (bad token, unknown attestor, banned agent…).
        Denied => "denied",
        /// Refused by the attestation rate limit.
        RateLimited => "rate_limited",
        /// The server failed (datastore, CA).
        Error => "error",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Labels {
    attestor: NodeAttestorLabel,
    result: AttestationResult,
}

/// `node_attestations_total{attestor, result}`.
#[derive(Debug, Clone, Default)]
pub struct NodeAttestationMetrics {
    attestations: Family<Labels, Counter>,
}

impl NodeAttestationMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "node_attestations",
            "Node attestations, by attestor and result (ok, denied, rate_limited, error)",
            m.attestations.clone(),
        );
        // The configurable attestors' series exist from the start (at 0).
        for attestor in [NodeAttestorLabel::JoinToken, NodeAttestorLabel::K8sPsat] {
            for result in [
                AttestationResult::Ok,
                AttestationResult::Denied,
                AttestationResult::RateLimited,
                AttestationResult::Error,
            ] {
                let _ = m.attestations.get_or_create(&Labels { attestor, result });
            }
        }
        m
    }

    /// One attestation with `attestor` that ended with `result`.
    pub fn record(&self, attestor: NodeAttestorLabel, result: AttestationResult) {
        self.attestations
            .get_or_create(&Labels { attestor, result })
            .inc();
    }
}
