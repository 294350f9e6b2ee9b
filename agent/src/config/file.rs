//! The config file's shape, defaults and cross-key checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tessera_proto::duration::serde_str;
use tessera_proto::identity::TrustDomain;
use tessera_proto::telemetry::LOG_LEVELS;
pub use tessera_proto::telemetry::LogFormat;

use super::secret::SecretString;

/// A server address `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ServerAddress {
    /// Parses `host:port` (`[v6]:port` for IPv6).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?} is not host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?}: port {port:?} is not a number 1-65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 || host.contains(char::is_whitespace) {
            return Err(format!("{s:?} is not host:port"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `server_address`: one string or an array of them.
fn server_addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ServerAddress>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let list = match OneOrMany::deserialize(d)
        .map_err(|_| serde::de::Error::custom("expected \"host:port\" or an array of them"))?
    {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    if list.is_empty() {
        return Err(serde::de::Error::custom("needs at least one host:port"));
    }
    list.iter()
        .map(|s| ServerAddress::parse(s).map_err(serde::de::Error::custom))
        .collect()
}

/// `agent.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The trust domain the agent belongs to.
    pub trust_domain: TrustDomain,
    /// The server's agent API, tried in order.
    #[serde(deserialize_with = "server_addresses")]
    pub server_address: Vec<ServerAddress>,
    /// Where the agent keeps its SVID and bundle.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The Workload API socket; default `<data_dir>/public/api.sock`.
    #[serde(default)]
    pub socket_path: Option<PathBuf>,
    /// PEM bundle to verify the server with on first start.
    #[serde(default)]
    pub trust_bundle_path: Option<PathBuf>,
    /// Dev only: skip server verification for the first attestation.
    #[serde(default)]
    pub insecure_bootstrap: bool,
    /// A single-use join token.
    #[serde(default)]
    pub join_token: Option<SecretString>,
    /// `[node_attestor]`.
    #[serde(default)]
    pub node_attestor: NodeAttestorSection,
    /// `[workload_attestor]`: how Workload API callers are attested.
    #[serde(default)]
    pub workload_attestor: WorkloadAttestorSection,
    /// How often entries and bundles are synced.
    #[serde(default = "default_sync_interval", with = "serde_str")]
    pub sync_interval: Duration,
    /// trace | debug | info | warn | error.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// text | json.
    #[serde(default)]
    pub log_format: LogFormat,
}

/// `[node_attestor]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeAttestorSection {
    /// `[node_attestor.k8s_psat]`.
    #[serde(default)]
    pub k8s_psat: Option<K8sPsatSection>,
}

/// `[node_attestor.k8s_psat]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sPsatSection {
    /// The cluster name as configured on the server.
    pub cluster: String,
    /// The projected service-account token file.
    #[serde(default = "default_token_path")]
    pub token_path: PathBuf,
}

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
    /// PEM CA bundle to verify the kubelet's serving certificate with.
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
    fn validate(&self) -> Result<(), (&'static str, String)> {
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
    128 * 1024 * 1024
}

fn default_node_name_env() -> String {
    "MY_NODE_NAME".into()
}

fn default_sa_token_path() -> PathBuf {
    PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
}

fn default_max_poll_attempts() -> u32 {
    10
}

fn default_poll_interval() -> Duration {
    Duration::from_millis(500)
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".tessera/agent")
}

fn default_sync_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_log_level() -> String {
    "info".into()
}

fn default_token_path() -> PathBuf {
    PathBuf::from("/var/run/secrets/tokens/tessera-agent")
}

impl AgentConfig {
    /// The Workload API socket path.
    pub fn socket_path(&self) -> PathBuf {
        self.socket_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("public").join("api.sock"))
    }

    /// Checks relations between values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err((
                "log_level",
                format!(
                    "{:?} is not one of {}",
                    self.log_level,
                    LOG_LEVELS.join(", ")
                ),
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(("data_dir", "must not be empty".into()));
        }
        if self.sync_interval < Duration::from_millis(100) {
            return Err(("sync_interval", "must be at least 100ms".into()));
        }
        if self.workload_attestor.unix.workload_size_limit == 0 {
            return Err((
                "workload_attestor.unix.workload_size_limit",
                "must be at least 1 byte".into(),
            ));
        }
        if let Some(k8s) = &self.workload_attestor.k8s {
            k8s.validate()?;
        }
        if self.trust_bundle_path.is_some() && self.insecure_bootstrap {
            return Err((
                "insecure_bootstrap",
                "set either trust_bundle_path or insecure_bootstrap, not both".into(),
            ));
        }
        match (&self.join_token, &self.node_attestor.k8s_psat) {
            (Some(_), Some(_)) => Err((
                "node_attestor.k8s_psat",
                "configure exactly one node attestor: join_token or [node_attestor.k8s_psat]"
                    .into(),
            )),
            (None, None) => Err((
                "join_token",
                "configure a node attestor: join_token or [node_attestor.k8s_psat]".into(),
            )),
            (Some(token), None) if token.expose().trim().is_empty() => {
                Err(("join_token", "must not be empty".into()))
            }
            (None, Some(psat)) if psat.cluster.is_empty() => {
                Err(("node_attestor.k8s_psat.cluster", "must not be empty".into()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use super::super::ConfigError;
    use super::*;

    fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::parse(text, Path::new("agent.toml"))
    }

    fn key_of(text: &str) -> String {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected {other}"),
        }
    }

    const BASE: &str = "trust_domain = \"example.org\"\nserver_address = \"tessera:8081\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(&format!("{BASE}join_token = \"abc\"")).unwrap();
        assert_eq!(
            c.server_address,
            [ServerAddress::parse("tessera:8081").unwrap()]
        );
        assert_eq!(c.data_dir, Path::new(".tessera/agent"));
        assert_eq!(c.socket_path(), Path::new(".tessera/agent/public/api.sock"));
        assert_eq!(c.sync_interval, Duration::from_secs(5));
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(!c.insecure_bootstrap);
        assert_eq!(c.join_token.unwrap().expose(), "abc");
    }

    #[test]
    fn every_key_parses() {
        let c = parse(
            r#"
            trust_domain = "prod.example.com"
            server_address = ["a.example.com:8081", "[::1]:9000", "10.0.0.1:1"]
            data_dir = "/var/lib/tessera-agent"
            socket_path = "/run/tessera/api.sock"
            trust_bundle_path = "/etc/tessera/bundle.pem"
            sync_interval = "30s"
            log_level = "debug"
            log_format = "json"
            [node_attestor.k8s_psat]
            cluster = "prod"
            "#,
        )
        .unwrap();
        assert_eq!(c.server_address.len(), 3);
        assert_eq!(c.server_address[1].host, "::1");
        assert_eq!(c.server_address[1].to_string(), "[::1]:9000");
        assert_eq!(c.socket_path(), Path::new("/run/tessera/api.sock"));
        assert_eq!(c.sync_interval, Duration::from_secs(30));
        let psat = c.node_attestor.k8s_psat.unwrap();
        assert_eq!(psat.cluster, "prod");
        assert_eq!(
            psat.token_path,
            Path::new("/var/run/secrets/tokens/tessera-agent")
        );
    }

    #[test]
    fn bad_input_names_the_key() {
        let jt = "join_token = \"t\"\n";
        assert_eq!(
            key_of(&format!(
                "trust_domain = \"Bad\"\nserver_address = \"a:1\"\n{jt}"
            )),
            "trust_domain"
        );
        assert_eq!(key_of(&format!("{BASE}{jt}bogus = 1")), "bogus");
        assert_eq!(
            key_of(&format!("{BASE}{jt}sync_interval = \"5\"")),
            "sync_interval"
        );
        assert_eq!(
            key_of(&format!("{BASE}{jt}log_format = \"xml\"")),
            "log_format"
        );
        assert_eq!(
            key_of(&format!("{BASE}{jt}log_level = \"loud\"")),
            "log_level"
        );
        assert_eq!(
            key_of(&format!(
                "trust_domain = \"e.org\"\nserver_address = \"nope\"\n{jt}"
            )),
            "server_address"
        );
        assert_eq!(
            key_of(&format!(
                "trust_domain = \"e.org\"\nserver_address = [\"a:1\", \"b:x\"]\n{jt}"
            )),
            "server_address"
        );
        assert_eq!(
            key_of(&format!(
                "trust_domain = \"e.org\"\nserver_address = []\n{jt}"
            )),
            "server_address"
        );
        assert_eq!(
            key_of(&format!("trust_domain = \"e.org\"\n{jt}")),
            "(document)"
        );
        assert_eq!(
            key_of(&format!(
                "{BASE}{jt}trust_bundle_path = \"b.pem\"\ninsecure_bootstrap = true"
            )),
            "insecure_bootstrap"
        );
        assert_eq!(key_of(BASE), "join_token");
        assert_eq!(
            key_of(&format!(
                "{BASE}{jt}[node_attestor.k8s_psat]\ncluster = \"c\""
            )),
            "node_attestor.k8s_psat"
        );
        assert_eq!(
            key_of(&format!(
                "{BASE}[node_attestor.k8s_psat]\ncluster = \"c\"\nbogus = 1"
            )),
            "node_attestor.k8s_psat.bogus"
        );
        assert_eq!(
            key_of(&format!(
                "{BASE}[node_attestor.k8s_psat]\ntoken_path = \"/t\""
            )),
            "node_attestor.k8s_psat"
        );
        assert_eq!(key_of(&format!("{BASE}join_token = \" \"")), "join_token");
    }

    #[test]
    fn the_join_token_never_prints() {
        let c = parse(&format!("{BASE}join_token = \"s3cr3t-token\"")).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-token"), "{shown}");
        let err = parse(&format!("{BASE}join_token = \"s3cr3t-token\"\nbogus = 1"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus") && !err.contains("s3cr3t"), "{err}");
    }
}
