//! `[workload_attestor]`: the unix and k8s workload attestors' keys.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::serde_str;

use crate::attestor::workload;

/// `[workload_attestor]`. The unix attestor always runs; k8s runs when its section exists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadAttestorSection {
    /// `[workload_attestor.unix]`.
    #[serde(default)]
    pub unix: UnixWorkloadSection,
    /// `[workload_attestor.k8s]`: present = enabled.
    #[serde(default)]
    pub k8s: Option<K8sWorkloadSection>,
    /// Where the node's `/proc` and `/etc` are (default `/`): e.g. `/host` for an agent
    /// container that mounts the host's root there (with the host's PID namespace).
    #[serde(default)]
    pub host_root: Option<PathBuf>,
}

/// `[workload_attestor.unix]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixWorkloadSection {
    /// Also emit `unix:path:<executable>` and `unix:sha256:<hex>` (default false).
    #[serde(default)]
    pub discover_workload_path: bool,
    /// Executables larger than this many bytes are not hashed (default 128 MiB).
    #[serde(default = "default_workload_size_limit")]
    pub workload_size_limit: u64,
}

impl Default for UnixWorkloadSection {
    fn default() -> Self {
        Self {
            discover_workload_path: false,
            workload_size_limit: default_workload_size_limit(),
        }
    }
}

/// `[workload_attestor.k8s]`: pod and container selectors from the kubelet.
///
/// The kubelet is reached, in order of precedence, at `kubelet_url`, at
/// `http://127.0.0.1:<kubelet_read_only_port>`, or at
/// `https://<node name>:<kubelet_secure_port>` with the agent's service-account token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sWorkloadSection {
    /// The node's name (the secure port's host); default: the `node_name_env` variable.
    #[serde(default)]
    pub node_name: Option<String>,
    /// The environment variable holding the node's name (default `MY_NODE_NAME`); if
    /// neither is set the secure port is dialed on 127.0.0.1.
    #[serde(default = "default_node_name_env")]
    pub node_name_env: String,
    /// The kubelet's read-only port (plain HTTP on 127.0.0.1, e.g. 10255).
    #[serde(default)]
    pub kubelet_read_only_port: Option<u16>,
    /// The kubelet's secure port (default 10250), used unless a read-only port is set.
    #[serde(default)]
    pub kubelet_secure_port: Option<u16>,
    /// Full kubelet base URL (`http://host:port` or `https://host:port`), overriding the
    /// ports; mostly for tests.
    #[serde(default)]
    pub kubelet_url: Option<String>,
    /// PEM CA bundle to verify the kubelet's serving certificate with (default: the
    /// cluster CA, `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`).
    #[serde(default)]
    pub kubelet_ca_path: Option<PathBuf>,
    /// Do not verify the kubelet's certificate (the token is still sent).
    #[serde(default)]
    pub skip_kubelet_verification: bool,
    /// The agent's service-account token, sent as bearer to the secure port.
    #[serde(default = "default_sa_token_path")]
    pub token_path: PathBuf,
    /// How many times the pod list is fetched while the container is not listed yet
    /// (default 10).
    #[serde(default = "default_max_poll_attempts")]
    pub max_poll_attempts: u32,
    /// The wait between those fetches (default `500ms`).
    #[serde(default = "default_poll_interval", with = "serde_str")]
    pub poll_interval: Duration,
}

impl K8sWorkloadSection {
    /// Checks relations between the section's values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.kubelet_read_only_port == Some(0) {
            return Err((
                "workload_attestor.k8s.kubelet_read_only_port",
                "must be 1-65535".into(),
            ));
        }
        if self.kubelet_secure_port == Some(0) {
            return Err((
                "workload_attestor.k8s.kubelet_secure_port",
                "must be 1-65535".into(),
            ));
        }
        if self.kubelet_read_only_port.is_some() && self.kubelet_secure_port.is_some() {
            return Err((
                "workload_attestor.k8s.kubelet_secure_port",
                "set either kubelet_read_only_port or kubelet_secure_port, not both".into(),
            ));
        }
        if let Some(url) = &self.kubelet_url {
            if self.kubelet_read_only_port.is_some() || self.kubelet_secure_port.is_some() {
                return Err((
                    "workload_attestor.k8s.kubelet_url",
                    "kubelet_url replaces the kubelet ports; set one or the other".into(),
                ));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err((
                    "workload_attestor.k8s.kubelet_url",
                    format!("{url:?} is not an http:// or https:// URL"),
                ));
            }
        }
        if self.skip_kubelet_verification && self.kubelet_ca_path.is_some() {
            return Err((
                "workload_attestor.k8s.skip_kubelet_verification",
                "set either kubelet_ca_path or skip_kubelet_verification, not both".into(),
            ));
        }
        if self.max_poll_attempts == 0 {
            return Err((
                "workload_attestor.k8s.max_poll_attempts",
                "must be at least 1".into(),
            ));
        }
        if self.poll_interval > Duration::from_secs(60) {
            return Err((
                "workload_attestor.k8s.poll_interval",
                "must be at most 60s".into(),
            ));
        }
        Ok(())
    }
}

fn default_workload_size_limit() -> u64 {
    workload::DEFAULT_WORKLOAD_SIZE_LIMIT
}

fn default_node_name_env() -> String {
    "MY_NODE_NAME".into()
}

fn default_sa_token_path() -> PathBuf {
    PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
}

fn default_max_poll_attempts() -> u32 {
    workload::DEFAULT_MAX_POLL_ATTEMPTS
}

fn default_poll_interval() -> Duration {
    workload::DEFAULT_POLL_INTERVAL
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use super::super::test_support::{BASE, key_of, parse};
    use super::*;

    #[test]
    fn workload_attestor_keys() {
        let jt = "join_token = \"t\"\n";
        let c = parse(&format!("{BASE}{jt}")).unwrap();
        let w = &c.workload_attestor;
        assert!(!w.unix.discover_workload_path);
        assert_eq!(w.unix.workload_size_limit, 128 * 1024 * 1024);
        assert!(w.k8s.is_none());

        let c = parse(&format!(
            "{BASE}{jt}[workload_attestor.k8s]\n[workload_attestor.unix]\ndiscover_workload_path = true"
        ))
        .unwrap();
        let k8s = c.workload_attestor.k8s.unwrap();
        assert!(c.workload_attestor.unix.discover_workload_path);
        assert_eq!(k8s.node_name, None);
        assert_eq!(k8s.node_name_env, "MY_NODE_NAME");
        assert_eq!(k8s.kubelet_read_only_port, None);
        assert_eq!(k8s.kubelet_secure_port, None);
        assert_eq!(
            k8s.token_path,
            Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token")
        );
        assert!(!k8s.skip_kubelet_verification);
        assert_eq!(k8s.max_poll_attempts, 10);
        assert_eq!(k8s.poll_interval, Duration::from_millis(500));

        let c = parse(&format!(
            r#"{BASE}{jt}
            [workload_attestor.unix]
            discover_workload_path = true
            workload_size_limit = 1048576
            [workload_attestor.k8s]
            node_name = "worker-1"
            node_name_env = "NODE"
            kubelet_secure_port = 11250
            kubelet_ca_path = "/etc/kubernetes/pki/ca.crt"
            token_path = "/t"
            max_poll_attempts = 3
            poll_interval = "250ms"
            "#
        ))
        .unwrap();
        let k8s = c.workload_attestor.k8s.unwrap();
        assert_eq!(c.workload_attestor.unix.workload_size_limit, 1_048_576);
        assert_eq!(k8s.node_name.as_deref(), Some("worker-1"));
        assert_eq!(k8s.kubelet_secure_port, Some(11250));
        assert_eq!(k8s.poll_interval, Duration::from_millis(250));
        let c = parse(&format!(
            "{BASE}{jt}[workload_attestor.k8s]\nkubelet_url = \"http://127.0.0.1:1\"\nskip_kubelet_verification = true"
        ))
        .unwrap();
        assert!(c.workload_attestor.k8s.unwrap().skip_kubelet_verification);

        let k = |extra: &str| key_of(&format!("{BASE}{jt}{extra}"));
        assert_eq!(
            k("[workload_attestor]\nbogus = 1"),
            "workload_attestor.bogus"
        );
        assert_eq!(
            k("[workload_attestor.unix]\nbogus = 1"),
            "workload_attestor.unix.bogus"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\nbogus = 1"),
            "workload_attestor.k8s.bogus"
        );
        assert_eq!(
            k("[workload_attestor.unix]\nworkload_size_limit = 0"),
            "workload_attestor.unix.workload_size_limit"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\nkubelet_read_only_port = 70000"),
            "workload_attestor.k8s.kubelet_read_only_port"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\nkubelet_read_only_port = 0"),
            "workload_attestor.k8s.kubelet_read_only_port"
        );
        assert_eq!(
            k(
                "[workload_attestor.k8s]\nkubelet_read_only_port = 10255\nkubelet_secure_port = 10250"
            ),
            "workload_attestor.k8s.kubelet_secure_port"
        );
        assert_eq!(
            k(
                "[workload_attestor.k8s]\nkubelet_url = \"http://x:1\"\nkubelet_read_only_port = 10255"
            ),
            "workload_attestor.k8s.kubelet_url"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\nkubelet_url = \"ftp://x\""),
            "workload_attestor.k8s.kubelet_url"
        );
        assert_eq!(
            k(
                "[workload_attestor.k8s]\nkubelet_ca_path = \"/ca\"\nskip_kubelet_verification = true"
            ),
            "workload_attestor.k8s.skip_kubelet_verification"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\nmax_poll_attempts = 0"),
            "workload_attestor.k8s.max_poll_attempts"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\npoll_interval = \"5\""),
            "workload_attestor.k8s.poll_interval"
        );
        assert_eq!(
            k("[workload_attestor.k8s]\npoll_interval = \"2m\""),
            "workload_attestor.k8s.poll_interval"
        );
    }
}
