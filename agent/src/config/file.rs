//! The config file's shape, defaults and cross-key checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tessera_proto::duration::serde_str;
use tessera_proto::identity::TrustDomain;
use tessera_proto::telemetry::LOG_LEVELS;
pub use tessera_proto::telemetry::LogFormat;

use super::sds::SdsSection;
use super::secret::SecretString;
use super::workload::WorkloadAttestorSection;

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
    /// `[workload_api]`: resource bounds of the Workload API socket.
    #[serde(default)]
    pub workload_api: WorkloadApiSection,
    /// `[sds]`: names of the Envoy SDS resources served on the Workload API socket.
    #[serde(default)]
    pub sds: SdsSection,
    /// How often entries and bundles are synced.
    #[serde(default = "default_sync_interval", with = "serde_str")]
    pub sync_interval: Duration,
    /// Keep a stream open to the server and sync as soon as it signals a change to the
    /// agent's entries or bundles (`sync_interval` stays, as the safety net).
    #[serde(default = "default_push")]
    pub push: bool,
    /// Most CSRs the agent sends in one `BatchNewX509Svid` call; several calls are in
    /// flight at once.
    #[serde(default = "default_x509_svid_batch_size")]
    pub x509_svid_batch_size: usize,
    /// trace | debug | info | warn | error.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// text | json.
    #[serde(default)]
    pub log_format: LogFormat,
    /// `[health]`: `/live` and `/ready`; off unless `bind_address` is set.
    #[serde(default)]
    pub health: tessera_proto::health::HealthSection,
    /// `[metrics]`: Prometheus `/metrics`; off unless `bind_address` is set.
    #[serde(default)]
    pub metrics: tessera_proto::metrics::MetricsSection,
}

/// `[workload_api]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadApiSection {
    /// Connections served at once; further clients wait in the socket backlog.
    pub max_connections: usize,
    /// Concurrent streams (calls) per connection (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub max_concurrent_streams: u32,
}

impl Default for WorkloadApiSection {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_concurrent_streams: 64,
        }
    }
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

fn default_data_dir() -> PathBuf {
    PathBuf::from(".tessera/agent")
}

fn default_sync_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_push() -> bool {
    true
}

fn default_x509_svid_batch_size() -> usize {
    DEFAULT_X509_SVID_BATCH_SIZE
}

/// The default `x509_svid_batch_size`.
pub const DEFAULT_X509_SVID_BATCH_SIZE: usize = 500;

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
        if self.workload_api.max_connections == 0 {
            return Err(("workload_api.max_connections", "must be at least 1".into()));
        }
        if self.workload_api.max_concurrent_streams == 0 {
            return Err((
                "workload_api.max_concurrent_streams",
                "must be at least 1".into(),
            ));
        }
        self.sds.validate()?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(("data_dir", "must not be empty".into()));
        }
        if self.sync_interval < Duration::from_millis(100) {
            return Err(("sync_interval", "must be at least 100ms".into()));
        }
        if !(1..=crate::client::BATCH_LIMIT).contains(&self.x509_svid_batch_size) {
            return Err((
                "x509_svid_batch_size",
                format!("must be 1 to {}", crate::client::BATCH_LIMIT),
            ));
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

    use super::super::test_support::{BASE, key_of, parse};
    use super::*;

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
        assert!(c.push, "push is on by default");
        assert_eq!(c.x509_svid_batch_size, DEFAULT_X509_SVID_BATCH_SIZE);
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(!c.insecure_bootstrap);
        assert_eq!(c.join_token.unwrap().expose(), "abc");
        assert_eq!(
            c.health.bind_address, None,
            "health probes are off by default"
        );
        assert_eq!(c.metrics.bind_address, None, "metrics are off by default");
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
            push = false
            log_level = "debug"
            log_format = "json"
            [node_attestor.k8s_psat]
            cluster = "prod"
            [health]
            bind_address = "0.0.0.0:8082"
            "#,
        )
        .unwrap();
        assert_eq!(c.server_address.len(), 3);
        assert_eq!(c.server_address[1].host, "::1");
        assert_eq!(c.server_address[1].to_string(), "[::1]:9000");
        assert_eq!(c.socket_path(), Path::new("/run/tessera/api.sock"));
        assert_eq!(c.sync_interval, Duration::from_secs(30));
        assert!(!c.push);
        assert_eq!(
            c.health.bind_address,
            Some(std::net::SocketAddr::from(([0, 0, 0, 0], 8082)))
        );
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
