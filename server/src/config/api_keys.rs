//! `[api_keys]`: API keys (issue 17): their longest lifetime, the scopes users may put
//! on their own keys, and how often last-use records are written.

use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::serde_str;

/// `[api_keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeysSection {
    /// The longest lifetime a key may be given (every key has an expiry). Default 90 days.
    #[serde(with = "serde_str")]
    pub max_lifetime: Duration,
    /// The scopes a user may put on their own (personal) keys, at the CLI, the admin API
    /// and the self-service page. An `admin:<role>` scope here lets users hold admin keys.
    /// Default `openid profile email`.
    pub user_scopes: Vec<String>,
    /// How often last-use records (time, source) kept in memory are written to the
    /// datastore (never one write per request). Default 30 s.
    #[serde(with = "serde_str")]
    pub last_used_flush_interval: Duration,
}

impl Default for ApiKeysSection {
    fn default() -> Self {
        Self {
            max_lifetime: Duration::from_secs(90 * 86_400),
            user_scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
            last_used_flush_interval: Duration::from_secs(30),
        }
    }
}

impl ApiKeysSection {
    /// Checks the values; the error names the key.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.max_lifetime < Duration::from_secs(60) {
            return Err(("api_keys.max_lifetime", "must be at least 1m".into()));
        }
        if self.last_used_flush_interval < Duration::from_secs(1) {
            return Err((
                "api_keys.last_used_flush_interval",
                "must be at least 1s".into(),
            ));
        }
        if let Some(bad) = self.user_scopes.iter().find(|s| {
            s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
        }) {
            return Err((
                "api_keys.user_scopes",
                format!("{bad:?} is not a scope token (RFC 6749 §3.3)"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::ServerConfig;

    fn parse(extra: &str) -> Result<ServerConfig, String> {
        ServerConfig::parse(
            &format!("trust_domain = \"e.org\"\n{extra}"),
            Path::new("server.toml"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_values() {
        let c = parse("").unwrap();
        assert_eq!(c.api_keys.max_lifetime, Duration::from_secs(90 * 86_400));
        assert_eq!(c.api_keys.user_scopes, ["openid", "profile", "email"]);
        assert_eq!(c.api_keys.last_used_flush_interval, Duration::from_secs(30));
        let c = parse(
            "[api_keys]\nmax_lifetime = \"30d\"\nuser_scopes = [\"read\"]\nlast_used_flush_interval = \"5s\"\n",
        )
        .unwrap();
        assert_eq!(c.api_keys.max_lifetime, Duration::from_secs(30 * 86_400));
        assert_eq!(c.api_keys.user_scopes, ["read"]);
        assert_eq!(c.api_keys.last_used_flush_interval, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("[api_keys]\nmax_lifetime = \"5s\"\n").unwrap_err();
        assert!(e.contains("api_keys.max_lifetime"), "{e}");
        let e = parse("[api_keys]\nuser_scopes = [\"a b\"]\n").unwrap_err();
        assert!(e.contains("api_keys.user_scopes"), "{e}");
        let e = parse("[api_keys]\nnope = 1\n").unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }
}
