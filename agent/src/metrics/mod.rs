//! Prometheus metrics of tessera-agent (`tessera_agent_*`): built once at start-up on one
//! registry, handed (cloned: every metric is an `Arc` inside) to the parts that record.
//! Every part also works with the `Default` (unregistered) metrics.

mod agent_metrics;
mod manager;
mod workload_api;
mod workload_attestation;

pub use agent_metrics::{AgentMetrics, PREFIX};
pub use manager::{ManagerMetrics, RotationReason};
pub use workload_api::{ConnectionGuard, GrpcCode, Rpc, StreamGuard, WorkloadApiMetrics};
pub use workload_attestation::{WorkloadAttestationMetrics, WorkloadAttestor};
