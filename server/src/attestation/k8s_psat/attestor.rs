//! The `k8s_psat` checks, in SPIRE's order: TokenReview (authenticated, no error, an
//! expected audience), service account allowed, pod name/UID extras, the pod exists with
//! that UID, its node exists with a UID.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::Deserialize;
use tessera_proto::identity::{Selector, SpiffeId, TrustDomain};

use super::api::{KubeApi, KubeApiError};
use super::client::KubeClient;
use crate::attestation::{AttestationError, Attested, NodeAttestor};
use crate::config::{K8sPsatCluster, K8sPsatSection};

const NAME: &str = "k8s_psat";
const SA_PREFIX: &str = "system:serviceaccount:";
const POD_NAME: &str = "authentication.kubernetes.io/pod-name";
const POD_UID: &str = "authentication.kubernetes.io/pod-uid";

/// One configured cluster and a client of its API server.
#[derive(Debug)]
pub struct PsatCluster<K> {
    service_accounts: BTreeSet<String>,
    audiences: Vec<String>,
    node_label_keys: BTreeSet<String>,
    pod_label_keys: BTreeSet<String>,
    pub(super) api: K,
}

impl<K> PsatCluster<K> {
    /// A cluster configured by `config`, reached through `api`.
    pub fn new(config: &K8sPsatCluster, api: K) -> Self {
        Self {
            service_accounts: config.service_account_allow_list.iter().cloned().collect(),
            audiences: config.audience.clone(),
            node_label_keys: config.allowed_node_label_keys.iter().cloned().collect(),
            pod_label_keys: config.allowed_pod_label_keys.iter().cloned().collect(),
            api,
        }
    }
}

/// The `k8s_psat` attestor over one or more clusters, chosen by the payload's `cluster`.
#[derive(Debug)]
pub struct K8sPsat<K = KubeClient> {
    trust_domain: TrustDomain,
    pub(super) clusters: BTreeMap<String, PsatCluster<K>>,
}

/// The agent's payload. Not `Debug`: it holds the token.
#[derive(Deserialize)]
struct Payload {
    cluster: String,
    token: String,
}

impl<K> K8sPsat<K> {
    /// An attestor for `clusters` (by name) in `trust_domain`.
    pub fn new(trust_domain: TrustDomain, clusters: BTreeMap<String, PsatCluster<K>>) -> Self {
        Self {
            trust_domain,
            clusters,
        }
    }
}

impl K8sPsat<KubeClient> {
    /// Builds a client per configured cluster (its `kubeconfig`, else in-cluster config).
    pub async fn from_config(
        trust_domain: TrustDomain,
        section: &K8sPsatSection,
    ) -> Result<Self, AttestationError> {
        let mut clusters = BTreeMap::new();
        for (name, config) in &section.clusters {
            let client = KubeClient::new(config.kubeconfig.as_deref())
                .await
                .map_err(|e| AttestationError::Internal(format!("cluster {name}: {e}")))?;
            clusters.insert(name.clone(), PsatCluster::new(config, client));
        }
        Ok(Self::new(trust_domain, clusters))
    }
}

/// The SPIFFE ID of the agent on the node with UID `node_uid` in cluster `cluster`:
/// `spiffe://<td>/tessera/agent/k8s_psat/<cluster>/<node-uid>` (the Kubernetes registration
/// controller parents pod entries to it).
pub fn agent_id(
    trust_domain: &TrustDomain,
    cluster: &str,
    node_uid: &str,
) -> Result<SpiffeId, tessera_proto::identity::IdError> {
    SpiffeId::from_segments(trust_domain, &["tessera", "agent", NAME, cluster, node_uid])
}

fn api_error(e: KubeApiError) -> AttestationError {
    match e {
        KubeApiError::Unreachable(m) => AttestationError::Unavailable(m),
        other => AttestationError::Internal(other.to_string()),
    }
}

fn refused(reason: impl Into<String>) -> AttestationError {
    AttestationError::Refused(reason.into())
}

/// The single value of a TokenReview `extra` key.
fn single_extra<'a>(extra: &'a BTreeMap<String, Vec<String>>, key: &str) -> Option<&'a str> {
    match extra.get(key).map(Vec::as_slice) {
        Some([value]) if !value.is_empty() => Some(value.as_str()),
        _ => None,
    }
}

fn parse_payload(payload: &[u8]) -> Result<Payload, AttestationError> {
    // Only the position of a JSON error is reported: serde's message could quote input.
    let p: Payload = serde_json::from_slice(payload).map_err(|e| {
        AttestationError::InvalidPayload(format!(
            "expected JSON {{\"cluster\": .., \"token\": ..}} (error at line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if p.cluster.is_empty() {
        return Err(AttestationError::InvalidPayload("missing cluster".into()));
    }
    if p.token.is_empty() {
        return Err(AttestationError::InvalidPayload("missing token".into()));
    }
    Ok(p)
}

impl<K: KubeApi> K8sPsat<K> {
    async fn check(&self, payload: &[u8]) -> Result<Attested, AttestationError> {
        let Payload {
            cluster: name,
            token,
        } = parse_payload(payload)?;
        let cluster = self.clusters.get(&name).ok_or_else(|| {
            AttestationError::InvalidPayload(format!("not configured for cluster {name:?}"))
        })?;
        let review = cluster
            .api
            .token_review(&token, &cluster.audiences)
            .await
            .map_err(api_error)?;
        if review.authenticated != Some(true) {
            let why = review.error.as_deref().unwrap_or("no reason given");
            // Never echo the token, even if the API server quoted it.
            let why = why.replace(token.as_str(), "<token>");
            return Err(refused(format!(
                "token not authenticated according to the TokenReview API: {why}"
            )));
        }
        if let Some(error) = review.error.as_deref().filter(|e| !e.is_empty()) {
            let error = error.replace(token.as_str(), "<token>");
            return Err(refused(format!("TokenReview error: {error}")));
        }
        if !review
            .audiences
            .iter()
            .any(|a| cluster.audiences.contains(a))
        {
            return Err(refused(format!(
                "token audiences {:?} include none of {:?}",
                review.audiences, cluster.audiences
            )));
        }
        let (namespace, account) = review
            .username
            .strip_prefix(SA_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .filter(|(ns, sa)| !ns.is_empty() && !sa.is_empty() && !sa.contains(':'))
            .ok_or_else(|| refused("token does not belong to a service account"))?;
        let full = format!("{namespace}:{account}");
        if !cluster.service_accounts.contains(&full) {
            return Err(refused(format!(
                "{full:?} is not an allowed service account"
            )));
        }
        let pod_name = single_extra(&review.extra, POD_NAME)
            .ok_or_else(|| refused("token is not bound to a pod (no pod-name extra)"))?;
        let pod_uid = single_extra(&review.extra, POD_UID)
            .ok_or_else(|| refused("token is not bound to a pod (no pod-uid extra)"))?;
        let pod = cluster
            .api
            .get_pod(namespace, pod_name)
            .await
            .map_err(api_error)?
            .ok_or_else(|| refused(format!("pod {namespace}/{pod_name} not found")))?;
        if pod.uid != pod_uid {
            return Err(refused(format!(
                "pod {namespace}/{pod_name} has UID {:?}, the token names {pod_uid:?}",
                pod.uid
            )));
        }
        if pod.node_name.is_empty() {
            return Err(refused(format!(
                "pod {namespace}/{pod_name} is not on a node"
            )));
        }
        let node = cluster
            .api
            .get_node(&pod.node_name)
            .await
            .map_err(api_error)?
            .ok_or_else(|| refused(format!("node {} not found", pod.node_name)))?;
        if node.uid.is_empty() {
            return Err(refused(format!("node {} has no UID", pod.node_name)));
        }

        let mut values = vec![
            format!("cluster:{name}"),
            format!("agent_ns:{namespace}"),
            format!("agent_sa:{account}"),
            format!("agent_pod_name:{pod_name}"),
            format!("agent_pod_uid:{pod_uid}"),
            format!("agent_node_ip:{}", pod.host_ip),
            format!("agent_node_name:{}", pod.node_name),
            format!("agent_node_uid:{}", node.uid),
        ];
        let labels = |kind: &str, labels: &BTreeMap<String, String>, keys: &BTreeSet<String>| {
            labels
                .iter()
                .filter(|(k, _)| keys.contains(*k))
                .map(|(k, v)| format!("{kind}:{k}:{v}"))
                .collect::<Vec<_>>()
        };
        values.extend(labels(
            "agent_node_label",
            &node.labels,
            &cluster.node_label_keys,
        ));
        values.extend(labels(
            "agent_pod_label",
            &pod.labels,
            &cluster.pod_label_keys,
        ));
        let selectors = values
            .iter()
            .map(|v| Selector::new(NAME, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AttestationError::Internal(format!("selector: {e}")))?;
        let agent_id = agent_id(&self.trust_domain, &name, &node.uid)
            .map_err(|e| AttestationError::Internal(format!("agent ID: {e}")))?;
        Ok(Attested {
            agent_id,
            selectors,
            can_reattest: true,
            attestor: NAME,
        })
    }
}

impl<K: KubeApi> NodeAttestor for K8sPsat<K> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn attest(&self, payload: &[u8], _now: SystemTime) -> Result<Attested, AttestationError> {
        // Token validity (expiry included) is the TokenReview API's verdict.
        self.check(payload).await
    }
}
