//! `[users]`: user accounts (Argon2id cost of password hashes).
//!
//! Each value is checked while parsing, so an error names its key
//! (`users.argon2_memory_kib`). Hashes made with other parameters keep working and are
//! re-hashed with these at the account's next successful sign-in.

use serde::{Deserialize, Deserializer};

use crate::users::Argon2Settings;

/// `[users]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsersSection {
    /// Argon2id memory in KiB: 1024 (1 MiB) to 4194304 (4 GiB). Default 47104 (46 MiB).
    #[serde(deserialize_with = "memory_kib")]
    pub argon2_memory_kib: u32,
    /// Argon2id passes: 1 to 64. Default 2.
    #[serde(deserialize_with = "iterations")]
    pub argon2_iterations: u32,
    /// Argon2id lanes: 1 to 16. Default 1.
    #[serde(deserialize_with = "parallelism")]
    pub argon2_parallelism: u32,
}

impl Default for UsersSection {
    fn default() -> Self {
        let d = Argon2Settings::default();
        Self {
            argon2_memory_kib: d.memory_kib,
            argon2_iterations: d.iterations,
            argon2_parallelism: d.parallelism,
        }
    }
}

impl UsersSection {
    /// The Argon2id parameters new hashes get.
    pub fn argon2(&self) -> Argon2Settings {
        Argon2Settings {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }
}

fn bounded<'de, D: Deserializer<'de>>(d: D, min: u32, max: u32) -> Result<u32, D::Error> {
    let value = u64::deserialize(d)?;
    u32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| serde::de::Error::custom(format!("{value} is not between {min} and {max}")))
}

fn memory_kib<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded(d, 1024, 4 * 1024 * 1024)
}

fn iterations<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded(d, 1, 64)
}

fn parallelism<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded(d, 1, 16)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, ServerConfig};

    fn parse(extra: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(
            &format!("trust_domain = \"e.org\"\n{extra}"),
            Path::new("server.toml"),
        )
    }

    #[test]
    fn defaults_and_every_key() {
        let c = parse("").unwrap();
        assert_eq!(c.users.argon2(), crate::users::Argon2Settings::default());
        let c = parse(
            "[users]\nargon2_memory_kib = 65536\nargon2_iterations = 3\nargon2_parallelism = 2",
        )
        .unwrap();
        let a = c.users.argon2();
        assert_eq!((a.memory_kib, a.iterations, a.parallelism), (65536, 3, 2));
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        for (text, key) in [
            ("argon2_memory_kib = 8", "users.argon2_memory_kib"),
            ("argon2_memory_kib = 99999999999", "users.argon2_memory_kib"),
            ("argon2_iterations = 0", "users.argon2_iterations"),
            ("argon2_parallelism = 17", "users.argon2_parallelism"),
            ("argon2_parallelism = -1", "users.argon2_parallelism"),
            ("bogus = 1", "users.bogus"),
        ] {
            match parse(&format!("[users]\n{text}")).unwrap_err() {
                ConfigError::Invalid {
                    key: k, message, ..
                } => {
                    assert_eq!(k, key, "{text}: {message}");
                }
                other => panic!("{other}"),
            }
        }
    }
}
