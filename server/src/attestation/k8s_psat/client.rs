//! [`KubeApi`] over the `kube` crate.

use std::path::Path;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::api::{KubeApi, KubeApiError, NodeInfo, PodInfo, TokenReviewStatus};

/// A client of one cluster's API server.
#[derive(Clone)]
pub struct KubeClient {
    client: Client,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").finish_non_exhaustive()
    }
}

fn call_error(e: kube::Error) -> KubeApiError {
    match e {
        kube::Error::HyperError(e) => KubeApiError::Unreachable(e.to_string()),
        kube::Error::Service(e) => KubeApiError::Unreachable(e.to_string()),
        kube::Error::Api(status) => KubeApiError::Api(format!(
            "{} {}: {}",
            status.code, status.reason, status.message
        )),
        other => KubeApiError::Api(other.to_string()),
    }
}

fn not_found_is_none<T>(result: Result<T, kube::Error>) -> Result<Option<T>, KubeApiError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(None),
        Err(e) => Err(call_error(e)),
    }
}

impl KubeClient {
    /// A client from `kubeconfig` (its current context) or, without one, from the
    /// in-cluster service-account environment. Must be called inside a tokio runtime.
    pub async fn new(kubeconfig: Option<&Path>) -> Result<Self, KubeApiError> {
        let config_error = |e: &dyn std::fmt::Display| KubeApiError::Config(e.to_string());
        let config = match kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path).map_err(|e| {
                    KubeApiError::Config(format!("reading {}: {e}", path.display()))
                })?;
                Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| config_error(&e))?
            }
            None => Config::incluster().map_err(|e| config_error(&e))?,
        };
        let client = Client::try_from(config).map_err(|e| config_error(&e))?;
        Ok(Self { client })
    }

    /// The underlying `kube` client (shared with the Kubernetes registration controller).
    pub fn client(&self) -> Client {
        self.client.clone()
    }
}

impl KubeApi for KubeClient {
    async fn token_review(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenReviewStatus, KubeApiError> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                audiences: Some(audiences.to_vec()),
            },
            ..Default::default()
        };
        let created = Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .map_err(call_error)?;
        let status = created.status.unwrap_or_default();
        let user = status.user.unwrap_or_default();
        Ok(TokenReviewStatus {
            authenticated: status.authenticated,
            error: status.error,
            username: user.username.unwrap_or_default(),
            audiences: status.audiences.unwrap_or_default(),
            extra: user.extra.unwrap_or_default(),
        })
    }

    async fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<PodInfo>, KubeApiError> {
        let pod = not_found_is_none(
            Api::<Pod>::namespaced(self.client.clone(), namespace)
                .get(name)
                .await,
        )?;
        Ok(pod.map(|pod| PodInfo {
            uid: pod.metadata.uid.unwrap_or_default(),
            node_name: pod.spec.and_then(|s| s.node_name).unwrap_or_default(),
            host_ip: pod.status.and_then(|s| s.host_ip).unwrap_or_default(),
            labels: pod.metadata.labels.unwrap_or_default(),
        }))
    }

    async fn get_node(&self, name: &str) -> Result<Option<NodeInfo>, KubeApiError> {
        let node = not_found_is_none(Api::<Node>::all(self.client.clone()).get(name).await)?;
        Ok(node.map(|node| NodeInfo {
            uid: node.metadata.uid.unwrap_or_default(),
            labels: node.metadata.labels.unwrap_or_default(),
        }))
    }
}
