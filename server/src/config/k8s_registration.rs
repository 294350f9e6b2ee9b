//! `[[k8s_registration]]`: the Kubernetes registration controller, one table per cluster.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::serde_str;

/// One `[[k8s_registration]]` table: turn a cluster's `ClusterSPIFFEID` resources into
/// entries for its pods.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sRegistrationSection {
    /// The cluster's name: a cluster of `[node_attestors.k8s_psat.clusters]` (entries are
    /// parented to the `k8s_psat` agents of that cluster) and `{{ .ClusterName }}`.
    pub cluster_name: String,
    /// Kubeconfig to reach the cluster's API; absent: in-cluster configuration.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// `{{ .ClusterDomain }}` in templates.
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,
    /// Pods in these namespaces never get entries.
    #[serde(default = "default_ignore_namespaces")]
    pub ignore_namespaces: Vec<String>,
    /// Only `ClusterSPIFFEID`s whose `spec.className` equals this are served; absent: only
    /// those without a class.
    #[serde(default)]
    pub class_name: Option<String>,
    /// The `coordination.k8s.io/v1` Lease electing the one replica that writes.
    #[serde(default = "default_lease_name")]
    pub lease_name: String,
    /// The Lease's namespace (the server's namespace).
    #[serde(default = "default_lease_namespace")]
    pub lease_namespace: String,
    /// How long a leader's claim lasts without renewal (`leaseDurationSeconds`).
    #[serde(default = "default_lease_duration", with = "serde_str")]
    pub lease_duration: Duration,
    /// How often the leader renews, and candidates retry.
    #[serde(default = "default_renew_interval", with = "serde_str")]
    pub renew_interval: Duration,
    /// A full reconcile at least this often, even without a change.
    #[serde(default = "default_resync_interval", with = "serde_str")]
    pub resync_interval: Duration,
}

fn default_cluster_domain() -> String {
    "cluster.local".into()
}

fn default_ignore_namespaces() -> Vec<String> {
    vec!["kube-system".into(), "kube-public".into(), "tessera".into()]
}

fn default_lease_name() -> String {
    "tessera-k8s-registration".into()
}

fn default_lease_namespace() -> String {
    "tessera".into()
}

fn default_lease_duration() -> Duration {
    Duration::from_secs(15)
}

fn default_renew_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_resync_interval() -> Duration {
    Duration::from_secs(60)
}

/// Checks every table; `psat_clusters` are the names of `[node_attestors.k8s_psat]`.
pub(super) fn validate(
    sections: &[K8sRegistrationSection],
    psat_clusters: &[&str],
) -> Result<(), (String, String)> {
    let mut seen = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let key = |k: &str| format!("k8s_registration[{i}].{k}");
        if !psat_clusters.contains(&s.cluster_name.as_str()) {
            return Err((
                key("cluster_name"),
                format!(
                    "{:?} is not a cluster of [node_attestors.k8s_psat.clusters] (entries are \
                     parented to that cluster's k8s_psat agents)",
                    s.cluster_name
                ),
            ));
        }
        if seen.contains(&&s.cluster_name) {
            return Err((
                key("cluster_name"),
                format!("{:?} has two [[k8s_registration]] tables", s.cluster_name),
            ));
        }
        seen.push(&s.cluster_name);
        for (k, v) in [
            ("lease_name", &s.lease_name),
            ("lease_namespace", &s.lease_namespace),
        ] {
            let ok = !v.is_empty()
                && v.len() <= 253
                && v.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !ok {
                return Err((key(k), format!("{v:?} is not a Kubernetes object name")));
            }
        }
        if s.renew_interval < Duration::from_secs(1) {
            return Err((key("renew_interval"), "must be at least 1s".into()));
        }
        if s.lease_duration < s.renew_interval * 2 {
            return Err((
                key("lease_duration"),
                "must be at least twice renew_interval".into(),
            ));
        }
        if s.resync_interval < Duration::from_secs(1) {
            return Err((key("resync_interval"), "must be at least 1s".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::super::ServerConfig;

    const PSAT: &str = "trust_domain = \"example.org\"\n\
        [node_attestors.k8s_psat.clusters.prod]\n\
        service_account_allow_list = [\"tessera:tessera-agent\"]\n";

    fn parse(extra: &str) -> Result<ServerConfig, String> {
        ServerConfig::parse(&format!("{PSAT}{extra}"), Path::new("server.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = parse("[[k8s_registration]]\ncluster_name = \"prod\"\n").unwrap();
        let s = &c.k8s_registration[0];
        assert_eq!(s.lease_name, "tessera-k8s-registration");
        assert_eq!(s.lease_namespace, "tessera");
        assert_eq!(s.lease_duration.as_secs(), 15);
        assert_eq!(s.renew_interval.as_secs(), 5);
        assert_eq!(s.cluster_domain, "cluster.local");
        assert!(s.ignore_namespaces.contains(&"kube-system".to_string()));
        assert!(s.class_name.is_none());
        assert!(parse("").unwrap().k8s_registration.is_empty());
    }

    #[test]
    fn bad_values_name_the_key() {
        for (extra, key) in [
            (
                "cluster_name = \"staging\"\n",
                "k8s_registration[0].cluster_name",
            ),
            (
                "cluster_name = \"prod\"\nlease_name = \"Bad_Name\"\n",
                "k8s_registration[0].lease_name",
            ),
            (
                "cluster_name = \"prod\"\nlease_duration = \"5s\"\nrenew_interval = \"5s\"\n",
                "k8s_registration[0].lease_duration",
            ),
            (
                "cluster_name = \"prod\"\nresync_interval = \"0s\"\n",
                "k8s_registration[0].resync_interval",
            ),
            ("cluster_name = \"prod\"\nnope = 1\n", "nope"),
        ] {
            let err = parse(&format!("[[k8s_registration]]\n{extra}")).unwrap_err();
            assert!(err.contains(key), "{extra}: {err}");
        }
        let twice = "[[k8s_registration]]\ncluster_name = \"prod\"\n[[k8s_registration]]\ncluster_name = \"prod\"\n";
        assert!(
            parse(twice)
                .unwrap_err()
                .contains("k8s_registration[1].cluster_name")
        );
    }
}
