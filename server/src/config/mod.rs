//! `server.toml`: every key documented in README; unknown keys and bad values are refused
//! with the key's path.

mod admin_bindings;
mod api_keys;
mod attestors;
mod audit;
mod datastore;
mod federation;
mod file;
mod k8s_registration;
mod metrics;
mod oauth;
mod oauth_exchange;
mod oauth_tls;
mod users;

pub use admin_bindings::AdminBindingSection;
pub use api_keys::ApiKeysSection;
pub use attestors::{K8sPsatCluster, K8sPsatSection, NodeAttestorsSection};
pub use audit::{AuditSection, SinkKind};
pub use datastore::{ConnectionString, DEFAULT_SLED_CACHE_MIB, DatastoreKind, DatastoreSection};
pub use federation::{EndpointProfile, FederationSection};
pub use file::{CaSection, LogFormat, ServerConfig, UpstreamSection};
pub use k8s_registration::K8sRegistrationSection;
pub use metrics::MetricsSection;
pub use oauth::OAuthSection;
pub use oauth_exchange::{ExchangeK8sCluster, ExchangePolicySection, TokenExchangeSection};
pub use oauth_tls::{IssuerHost, OAuthTls};
pub use users::UsersSection;

use std::path::Path;

pub use tessera_proto::config_file::ConfigError;

impl ServerConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        tessera_proto::config_file::load(path, Self::check)
    }

    /// Parses and validates config text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        tessera_proto::config_file::parse(text, path, Self::check)
    }

    fn check(&self) -> Result<(), (String, String)> {
        self.validate()
            .map_err(|(key, message)| (key.to_string(), message))
    }
}
