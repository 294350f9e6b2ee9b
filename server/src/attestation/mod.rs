//! Node attestation: an agent proves which node it runs on and receives its agent ID and
//! node selectors. Join tokens are always on; `k8s_psat` is enabled per configured cluster.

mod attestor;
mod dispatch;
mod error;
mod join_token;
mod k8s_psat;

pub use attestor::{Attested, NodeAttestor};
pub use dispatch::NodeAttestors;
pub use error::AttestationError;
pub use join_token::{DEFAULT_JOIN_TOKEN_TTL, JoinTokens};
pub use k8s_psat::{
    K8sPsat, KubeApi, KubeApiError, KubeClient, NodeInfo, PodInfo, PsatCluster, TokenReviewStatus,
    agent_id as k8s_psat_agent_id,
};
