//! The config file's shape and defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::{format_duration, serde_str};
use tessera_proto::identity::TrustDomain;
use tessera_proto::telemetry::LOG_LEVELS;
pub use tessera_proto::telemetry::LogFormat;

use crate::ca::KeyType;

/// `server.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The trust domain this server is the authority of.
    pub trust_domain: TrustDomain,
    /// Where the datastore, seal key and admin socket live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The agent API address.
    #[serde(default = "default_bind_address")]
    pub bind_address: SocketAddr,
    /// `[agent_api]`: connection cap, idle timeout, `Attest` rate.
    #[serde(default)]
    pub agent_api: crate::api::agent::AgentApiLimits,
    /// The admin API Unix socket; default `<data_dir>/admin.sock`.
    #[serde(default)]
    pub admin_socket: Option<PathBuf>,
    /// Deprecated alias: each uid is bound to role `admin` (see `admin_bindings`).
    #[serde(default)]
    pub admin_uids: Vec<u32>,
    /// `[[admin_bindings]]`: admin roles for socket callers by uid or primary gid.
    #[serde(default)]
    pub admin_bindings: Vec<super::AdminBindingSection>,
    /// trace | debug | info | warn | error.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// text | json.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Lifetime of agent X.509-SVIDs.
    #[serde(default = "default_agent_ttl", with = "serde_str")]
    pub agent_ttl: Duration,
    /// The CA.
    #[serde(default)]
    pub ca: CaSection,
    /// Node attestation.
    #[serde(default)]
    pub node_attestors: super::NodeAttestorsSection,
    /// The OAuth 2.0 authorization server; off when absent.
    #[serde(default)]
    pub oauth: Option<super::OAuthSection>,
    /// User accounts (Argon2id cost).
    #[serde(default)]
    pub users: super::UsersSection,
    /// The datastore backend.
    #[serde(default)]
    pub datastore: super::DatastoreSection,
    /// `[api_keys]`: API keys' lifetime bound, user scopes, last-use flushing.
    #[serde(default)]
    pub api_keys: super::ApiKeysSection,
    /// This replica's ID (its CA journal's key); default: a random ID created once and
    /// kept in `<data_dir>/server_id`.
    #[serde(default)]
    pub server_id: Option<String>,
    /// The audit trail's sink (`[audit]`).
    #[serde(default)]
    pub audit: super::AuditSection,
    /// `[health]`: `/live` and `/ready`; off unless `bind_address` is set.
    #[serde(default)]
    pub health: tessera_proto::health::HealthSection,
    /// `[metrics]`: Prometheus `/metrics`; off unless `bind_address` is set.
    #[serde(default)]
    pub metrics: super::MetricsSection,
    /// `[federation]`: the bundle endpoint (off unless `bind_address` is set) and fetching
    /// federated bundles.
    #[serde(default)]
    pub federation: super::FederationSection,
    /// `[[k8s_registration]]`: the Kubernetes registration controller, per cluster.
    #[serde(default)]
    pub k8s_registration: Vec<super::K8sRegistrationSection>,
}

/// `[ca]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaSection {
    /// X.509 CA key type.
    pub key_type: KeyType,
    /// JWT-SVID signing key type.
    pub jwt_key_type: KeyType,
    /// Lifetime of each X.509 CA and JWT key.
    #[serde(with = "serde_str")]
    pub ca_ttl: Duration,
    /// Default X.509-SVID TTL.
    #[serde(with = "serde_str")]
    pub x509_svid_ttl: Duration,
    /// Default JWT-SVID TTL.
    #[serde(with = "serde_str")]
    pub jwt_svid_ttl: Duration,
    /// `spiffe_refresh_hint` of the published bundle.
    #[serde(with = "serde_str")]
    pub bundle_refresh_hint: Duration,
    /// The key that seals CA private keys at rest; default `<data_dir>/seal.key`.
    pub seal_key_file: Option<PathBuf>,
    /// An upstream authority to chain under instead of a self-signed root.
    pub upstream: Option<UpstreamSection>,
}

impl Default for CaSection {
    fn default() -> Self {
        Self {
            key_type: KeyType::EcP256,
            jwt_key_type: KeyType::EcP256,
            ca_ttl: Duration::from_secs(24 * 3600),
            x509_svid_ttl: Duration::from_secs(3600),
            jwt_svid_ttl: Duration::from_secs(300),
            bundle_refresh_hint: Duration::from_secs(300),
            seal_key_file: None,
            upstream: None,
        }
    }
}

/// `[ca.upstream]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// PEM: the upstream CA certificate, optionally followed by its chain.
    pub cert_file: PathBuf,
    /// PEM: the upstream CA's private key.
    pub key_file: PathBuf,
    /// PEM: the trust anchors; required when `cert_file` is not self-signed.
    pub bundle_file: Option<PathBuf>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".tessera/server")
}

fn default_bind_address() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8081))
}

fn default_agent_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_log_level() -> String {
    "info".into()
}

impl ServerConfig {
    /// The admin socket path.
    pub fn admin_socket(&self) -> PathBuf {
        self.admin_socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join("admin.sock"))
    }

    /// The admin socket's role bindings (`admin_bindings`, then `admin_uids` as admins).
    pub fn socket_bindings(&self) -> crate::api::admin::SocketBindings {
        super::admin_bindings::socket_bindings(&self.admin_bindings, &self.admin_uids)
    }

    /// The seal key path.
    pub fn seal_key_file(&self) -> PathBuf {
        self.ca
            .seal_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("seal.key"))
    }

    /// Checks relations between values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        self.validate_values()
            .map_err(|(k, m)| (k.to_string(), m))?;
        if let Some(oauth) = &self.oauth {
            oauth.validate()?;
        }
        self.datastore
            .validate()
            .map_err(|(k, m)| (k.to_string(), m))?;
        self.federation
            .validate()
            .map_err(|(k, m)| (k.to_string(), m))?;
        self.node_attestors.validate()?;
        super::admin_bindings::validate(&self.admin_bindings)?;
        let psat: Vec<&str> = self
            .node_attestors
            .k8s_psat
            .iter()
            .flat_map(|p| p.clusters.keys().map(String::as_str))
            .collect();
        super::k8s_registration::validate(&self.k8s_registration, &psat)
    }

    fn validate_values(&self) -> Result<(), (&'static str, String)> {
        self.api_keys.validate()?;
        if self.agent_ttl < Duration::from_secs(60) {
            return Err(("agent_ttl", "must be at least 1m".into()));
        }
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
        let ca = &self.ca;
        for (key, value) in [
            ("ca.ca_ttl", ca.ca_ttl),
            ("ca.x509_svid_ttl", ca.x509_svid_ttl),
            ("ca.jwt_svid_ttl", ca.jwt_svid_ttl),
        ] {
            if value < Duration::from_secs(1) {
                return Err((key, "must be at least 1s".into()));
            }
        }
        for (key, value) in [
            ("ca.x509_svid_ttl", ca.x509_svid_ttl),
            ("ca.jwt_svid_ttl", ca.jwt_svid_ttl),
        ] {
            if value > ca.ca_ttl {
                return Err((
                    key,
                    format!(
                        "{} exceeds ca.ca_ttl ({}): SVIDs are capped to the CA's life",
                        format_duration(value),
                        format_duration(ca.ca_ttl)
                    ),
                ));
            }
        }
        if let Some(id) = &self.server_id
            && !crate::server_id::valid(id)
        {
            return Err(("server_id", crate::server_id::RULE.into()));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(("data_dir", "must not be empty".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use super::super::ConfigError;
    use super::*;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(text, Path::new("server.toml"))
    }

    fn key_of(text: &str) -> String {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn minimal_config_gets_spire_like_defaults() {
        let c = parse("trust_domain = \"example.org\"").unwrap();
        assert_eq!(c.ca.ca_ttl, Duration::from_secs(86400));
        assert_eq!(c.ca.x509_svid_ttl, Duration::from_secs(3600));
        assert_eq!(c.ca.jwt_svid_ttl, Duration::from_secs(300));
        assert_eq!(c.ca.key_type, KeyType::EcP256);
        assert_eq!(c.bind_address.port(), 8081);
        assert_eq!(c.admin_socket(), Path::new(".tessera/server/admin.sock"));
        assert_eq!(c.seal_key_file(), Path::new(".tessera/server/seal.key"));
        assert_eq!(
            c.health.bind_address, None,
            "health probes are off by default"
        );
        assert_eq!(c.metrics.bind_address, None, "metrics are off by default");
        assert!(!c.metrics.client_id_labels);
    }

    #[test]
    fn every_key_parses() {
        let c = parse(
            r#"
            trust_domain = "prod.example.com"
            data_dir = "/var/lib/tessera"
            bind_address = "127.0.0.1:9081"
            admin_socket = "/run/tessera/admin.sock"
            log_level = "debug"
            log_format = "json"
            [ca]
            key_type = "rsa-2048"
            jwt_key_type = "ec-p384"
            ca_ttl = "48h"
            x509_svid_ttl = "30m"
            jwt_svid_ttl = "2m"
            bundle_refresh_hint = "1m"
            seal_key_file = "/etc/tessera/seal.key"
            [ca.upstream]
            cert_file = "/etc/tessera/up.crt"
            key_file = "/etc/tessera/up.key"
            bundle_file = "/etc/tessera/roots.pem"
            [node_attestors.k8s_psat.clusters.prod]
            service_account_allow_list = ["tessera:tessera-agent"]
            audience = ["tessera-server", "other"]
            kubeconfig = "/etc/tessera/kubeconfig"
            allowed_node_label_keys = ["topology.kubernetes.io/zone"]
            allowed_pod_label_keys = ["app"]
            [health]
            bind_address = "127.0.0.1:8080"
            [metrics]
            bind_address = "127.0.0.1:9090"
            client_id_labels = true
            "#,
        )
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.ca.key_type, KeyType::Rsa2048);
        assert_eq!(c.ca.jwt_key_type, KeyType::EcP384);
        assert_eq!(c.ca.ca_ttl, Duration::from_secs(48 * 3600));
        assert!(c.ca.upstream.unwrap().bundle_file.is_some());
        let prod = &c.node_attestors.k8s_psat.unwrap().clusters["prod"];
        assert_eq!(prod.audience, ["tessera-server", "other"]);
        assert_eq!(prod.allowed_pod_label_keys, ["app"]);
        assert_eq!(
            c.health.bind_address,
            Some(std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        assert_eq!(
            c.metrics.bind_address,
            Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        assert!(c.metrics.client_id_labels);
    }

    #[test]
    fn bad_input_names_the_key() {
        assert_eq!(key_of("trust_domain = \"Example.org\""), "trust_domain");
        assert_eq!(key_of("trust_domain = \"e.org\"\nbogus = 1"), "bogus");
        assert_eq!(
            key_of("trust_domain = \"e.org\"\n[ca]\nca_ttl = \"1 day\""),
            "ca.ca_ttl"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\n[ca]\nkey_type = \"ed25519\""),
            "ca.key_type"
        );
        assert_eq!(key_of("trust_domain = \"e.org\"\n[ca]\nfoo = 1"), "ca.foo");
        assert_eq!(
            key_of("trust_domain = \"e.org\"\nlog_format = \"xml\""),
            "log_format"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\nlog_level = \"loud\""),
            "log_level"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\nbind_address = \"nope\""),
            "bind_address"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\n[ca]\nca_ttl = \"1h\"\nx509_svid_ttl = \"2h\""),
            "ca.x509_svid_ttl"
        );
        assert_eq!(key_of("data_dir = \"x\""), "(document)");
        assert_eq!(
            key_of("trust_domain = \"e.org\"\n[health]\nbind_address = \"nope\""),
            "health.bind_address"
        );
        assert_eq!(
            key_of(
                "trust_domain = \"e.org\"\n[node_attestors.k8s_psat.clusters.c1]\nservice_account_allow_list = [\"nocolon\"]"
            ),
            "node_attestors.k8s_psat.clusters.c1.service_account_allow_list"
        );
        assert_eq!(
            key_of(
                "trust_domain = \"e.org\"\n[node_attestors.k8s_psat.clusters.c1]\nservice_account_allow_list = [\"a:b\"]\nbogus = 1"
            ),
            "node_attestors.k8s_psat.clusters.c1.bogus"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\nagent_ttl = \"10s\""),
            "agent_ttl"
        );
        assert_eq!(
            key_of("trust_domain = \"e.org\"\n[ca.upstream]\ncert_file = \"a\""),
            "ca.upstream"
        );
    }

    #[test]
    fn unknown_key_message_names_it() {
        let err = parse("trust_domain = \"e.org\"\nbogus = 1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }
}
