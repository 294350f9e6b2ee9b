//! `agent.toml`: unknown keys and bad values are refused with the key's path.

mod file;
mod secret;
mod workload;

pub use file::{AgentConfig, K8sPsatSection, LogFormat, NodeAttestorSection, ServerAddress};
pub use secret::SecretString;
pub use workload::{K8sWorkloadSection, UnixWorkloadSection, WorkloadAttestorSection};

use std::path::{Path, PathBuf};

/// A configuration problem, with the file and key path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key is unknown, missing, or has a bad value.
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `node_attestor.k8s_psat.cluster`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl AgentConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| invalid("(document)".into(), e.message().to_string()))?;
        let config: AgentConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { "(document)".into() } else { key };
            invalid(key, e.into_inner().message().to_string())
        })?;
        config
            .validate()
            .map_err(|(key, message)| invalid(key.to_string(), message))?;
        Ok(config)
    }
}
