//! Reading a TOML config file, shared by both binaries: unknown keys and bad values are
//! refused with the file and the dotted key path (`ca.ca_ttl`), never a bare parse error.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

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
        /// Dotted key path, e.g. `ca.ca_ttl`; `(document)` for the file as a whole.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads `path` and parses it with [`parse`].
pub fn load<T: DeserializeOwned>(
    path: &Path,
    validate: impl FnOnce(&T) -> Result<(), (String, String)>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, validate)
}

/// Parses TOML `text` (`path` names it in errors), then checks relations between values
/// with `validate`, which returns the offending key and why.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    validate: impl FnOnce(&T) -> Result<(), (String, String)>,
) -> Result<T, ConfigError> {
    let invalid = |key: String, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        message,
    };
    let de = toml::Deserializer::parse(text)
        .map_err(|e| invalid("(document)".into(), e.message().to_string()))?;
    let config: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { "(document)".into() } else { key };
        invalid(key, e.into_inner().message().to_string())
    })?;
    validate(&config).map_err(|(key, message)| invalid(key, message))?;
    Ok(config)
}
