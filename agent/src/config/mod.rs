//! `agent.toml`: unknown keys and bad values are refused with the key's path.

mod file;
mod sds;
mod secret;
mod workload;

pub use file::{
    AgentConfig, K8sPsatSection, LogFormat, NodeAttestorSection, ServerAddress, WorkloadApiSection,
};
pub use sds::SdsSection;
pub use secret::SecretString;
pub use workload::{K8sWorkloadSection, UnixWorkloadSection, WorkloadAttestorSection};

use std::path::Path;

pub use tessera_proto::config_file::ConfigError;

impl AgentConfig {
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

/// Helpers shared by the config tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod test_support {
    use std::path::Path;

    use super::{AgentConfig, ConfigError};

    /// The smallest valid head of an `agent.toml` (a node attestor must still be added).
    pub const BASE: &str = "trust_domain = \"example.org\"\nserver_address = \"tessera:8081\"\n";

    /// Parses config text named `agent.toml`.
    pub fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::parse(text, Path::new("agent.toml"))
    }

    /// The key path a refused config names.
    pub fn key_of(text: &str) -> String {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected {other}"),
        }
    }
}
