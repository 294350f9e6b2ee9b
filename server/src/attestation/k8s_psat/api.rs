//! The little the attestor needs from a Kubernetes API server.

use std::collections::BTreeMap;
use std::future::Future;

/// The fields of a TokenReview's `status` the attestor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenReviewStatus {
    /// `status.authenticated` (absent, not `false`, when authentication failed).
    pub authenticated: Option<bool>,
    /// `status.error`.
    pub error: Option<String>,
    /// `status.user.username`, e.g. `system:serviceaccount:NS:NAME`.
    pub username: String,
    /// `status.audiences`: the requested audiences the token carries.
    pub audiences: Vec<String>,
    /// `status.user.extra`, e.g. `authentication.kubernetes.io/pod-uid`.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The fields of a Pod the attestor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// `metadata.uid`.
    pub uid: String,
    /// `spec.nodeName`.
    pub node_name: String,
    /// `status.hostIP`.
    pub host_ip: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
}

/// The fields of a Node the attestor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
}

/// A failed Kubernetes API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubeApiError {
    /// The API server could not be reached (connection, TLS, timeout).
    #[error("Kubernetes API unreachable: {0}")]
    Unreachable(String),
    /// The API server answered with an error (e.g. 401/403 for the server's credentials).
    #[error("Kubernetes API error: {0}")]
    Api(String),
    /// The client could not be configured (kubeconfig, in-cluster environment).
    #[error("Kubernetes client configuration: {0}")]
    Config(String),
}

/// Calls to one cluster's API server.
pub trait KubeApi: Send + Sync {
    /// Creates a TokenReview of `token` for `audiences`.
    fn token_review(
        &self,
        token: &str,
        audiences: &[String],
    ) -> impl Future<Output = Result<TokenReviewStatus, KubeApiError>> + Send;

    /// The pod `namespace/name`; `None` when it does not exist.
    fn get_pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<PodInfo>, KubeApiError>> + Send;

    /// The node `name`; `None` when it does not exist.
    fn get_node(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<NodeInfo>, KubeApiError>> + Send;
}
