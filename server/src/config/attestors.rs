//! `[node_attestors]`: join tokens are always on; `k8s_psat` is enabled per cluster.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// `[node_attestors]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeAttestorsSection {
    /// `[node_attestors.k8s_psat]`.
    pub k8s_psat: Option<K8sPsatSection>,
}

/// `[node_attestors.k8s_psat]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sPsatSection {
    /// `[node_attestors.k8s_psat.clusters.<name>]`, by cluster name.
    pub clusters: BTreeMap<String, K8sPsatCluster>,
}

/// One cluster whose agents attest with projected service-account tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sPsatCluster {
    /// Service accounts allowed to attest, as `namespace:name`.
    pub service_account_allow_list: Vec<String>,
    /// Audiences the token must carry (any of them); default `["tessera-server"]`.
    #[serde(default = "default_audience")]
    pub audience: Vec<String>,
    /// Kubeconfig to reach the cluster's API; absent: in-cluster configuration.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Node label keys turned into `agent_node_label:k:v` selectors.
    #[serde(default)]
    pub allowed_node_label_keys: Vec<String>,
    /// Pod label keys turned into `agent_pod_label:k:v` selectors.
    #[serde(default)]
    pub allowed_pod_label_keys: Vec<String>,
}

fn default_audience() -> Vec<String> {
    vec!["tessera-server".into()]
}

impl NodeAttestorsSection {
    /// Checks the values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let Some(psat) = &self.k8s_psat else {
            return Ok(());
        };
        for (name, cluster) in &psat.clusters {
            let key = |k: &str| format!("node_attestors.k8s_psat.clusters.{name}.{k}");
            if name.is_empty() || name.contains('/') {
                return Err((
                    key(""),
                    "cluster names must be non-empty and contain no '/'".into(),
                ));
            }
            if cluster.service_account_allow_list.is_empty() {
                return Err((
                    key("service_account_allow_list"),
                    "must name at least one namespace:name".into(),
                ));
            }
            for sa in &cluster.service_account_allow_list {
                let ok = matches!(sa.split_once(':'), Some((ns, n)) if !ns.is_empty() && !n.is_empty() && !n.contains(':'));
                if !ok {
                    return Err((
                        key("service_account_allow_list"),
                        format!("{sa:?} is not namespace:name"),
                    ));
                }
            }
            if cluster.audience.is_empty() || cluster.audience.iter().any(String::is_empty) {
                return Err((
                    key("audience"),
                    "must hold at least one non-empty audience".into(),
                ));
            }
        }
        Ok(())
    }
}
