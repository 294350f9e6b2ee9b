//! `k8s_psat`: agents present a projected service-account token; the server checks it
//! with the cluster's TokenReview API and reads the agent's pod and node.

mod api;
mod attestor;
mod client;
#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod tests;

pub use api::{KubeApi, KubeApiError, NodeInfo, PodInfo, TokenReviewStatus};
pub use attestor::{K8sPsat, PsatCluster, agent_id};
pub use client::KubeClient;
