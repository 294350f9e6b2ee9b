//! `[health]` of `server.toml` and `agent.toml`.

use std::net::SocketAddr;

use serde::Deserialize;

/// `[health]`: the probe endpoint, off unless `bind_address` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    /// `host:port` serving `/live` and `/ready` over plain HTTP; e.g. `127.0.0.1:8080`.
    /// Binding beyond loopback (for kubelet probes) is the operator's choice.
    #[serde(default)]
    pub bind_address: Option<SocketAddr>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        health: HealthSection,
    }

    #[test]
    fn off_unless_set() {
        let doc: Doc = toml::from_str("").unwrap();
        assert_eq!(doc.health.bind_address, None);
        let doc: Doc = toml::from_str("[health]\n").unwrap();
        assert_eq!(doc.health.bind_address, None);
        let doc: Doc = toml::from_str("[health]\nbind_address = \"127.0.0.1:8080\"\n").unwrap();
        assert_eq!(
            doc.health.bind_address,
            Some(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        assert!(toml::from_str::<Doc>("[health]\nbind_address = \"nope\"\n").is_err());
        assert!(toml::from_str::<Doc>("[health]\nport = 1\n").is_err());
    }
}
