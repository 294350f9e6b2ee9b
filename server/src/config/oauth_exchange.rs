//! `[oauth.token_exchange]`: RFC 8693 token exchange — the Kubernetes clusters whose
//! service-account tokens may be exchanged, and the exchange policies (default deny).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::oauth::exchange::SubjectPattern;

/// `[oauth.token_exchange]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenExchangeSection {
    /// `[oauth.token_exchange.k8s_clusters.<name>]`.
    pub k8s_clusters: BTreeMap<String, ExchangeK8sCluster>,
    /// `[[oauth.token_exchange.policy]]`, tried in order; none means every exchange is denied.
    pub policy: Vec<ExchangePolicySection>,
}

/// A cluster whose projected service-account tokens may be exchanged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeK8sCluster {
    /// The tokens' `iss` (the API server's `--service-account-issuer`); picks the cluster.
    pub issuer: String,
    /// Audiences asked of TokenReview; the token must carry one of them.
    pub audiences: Vec<String>,
    /// Kubeconfig to reach the cluster's API; absent: in-cluster configuration.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
}

/// One `[[oauth.token_exchange.policy]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangePolicySection {
    /// `spiffe://td/path`, `spiffe://td/path/*`, `system:serviceaccount:NS:NAME` or
    /// `system:serviceaccount:NS:*`.
    pub subject: String,
    /// Requesting clients allowed to use this policy; empty: any client with the grant.
    #[serde(default)]
    pub clients: Vec<String>,
    /// Audiences the issued token may have.
    pub audiences: Vec<String>,
    /// Scopes the issued token may carry.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl TokenExchangeSection {
    /// Checks the values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let mut issuers: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, cluster) in &self.k8s_clusters {
            let key = |k: &str| format!("oauth.token_exchange.k8s_clusters.{name}.{k}");
            if cluster.issuer.is_empty() {
                return Err((key("issuer"), "must not be empty".into()));
            }
            if let Some(other) = issuers.insert(&cluster.issuer, name) {
                return Err((
                    key("issuer"),
                    format!("{:?} is also cluster {other}'s issuer", cluster.issuer),
                ));
            }
            if cluster.audiences.is_empty() || cluster.audiences.iter().any(String::is_empty) {
                return Err((
                    key("audiences"),
                    "must hold at least one non-empty audience".into(),
                ));
            }
        }
        for (i, policy) in self.policy.iter().enumerate() {
            let key = |k: &str| format!("oauth.token_exchange.policy[{i}].{k}");
            SubjectPattern::parse(&policy.subject).map_err(|e| (key("subject"), e))?;
            if policy.clients.iter().any(String::is_empty) {
                return Err((key("clients"), "client ids must not be empty".into()));
            }
            if policy.audiences.is_empty() || policy.audiences.iter().any(String::is_empty) {
                return Err((
                    key("audiences"),
                    "must hold at least one non-empty audience".into(),
                ));
            }
            let bad_scope = policy.scopes.iter().any(|s| {
                s.is_empty()
                    || !s.bytes().all(|b| {
                        b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
                    })
            });
            if bad_scope {
                return Err((
                    key("scopes"),
                    "scopes are non-empty and free of spaces, quotes and backslashes".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, ServerConfig};

    const BASE: &str = "trust_domain = \"example.org\"\n[oauth]\nbind_address = \"127.0.0.1:9443\"\nissuer = \"http://127.0.0.1:9443\"\n";

    fn parse(extra: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(&format!("{BASE}{extra}"), Path::new("server.toml"))
    }

    fn key_of(extra: &str) -> String {
        match parse(extra).unwrap_err() {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn every_key_parses_and_absent_means_deny_all() {
        let c = parse(
            r#"
            [oauth.token_exchange.k8s_clusters.prod]
            issuer = "https://kubernetes.default.svc"
            audiences = ["tessera"]
            kubeconfig = "/etc/tessera/kubeconfig"
            [[oauth.token_exchange.policy]]
            subject = "spiffe://example.org/ns/prod/*"
            clients = ["gateway"]
            audiences = ["https://api.example.org"]
            scopes = ["read"]
            [[oauth.token_exchange.policy]]
            subject = "system:serviceaccount:prod:*"
            audiences = ["https://api.example.org"]
            "#,
        )
        .unwrap();
        let x = c.oauth.unwrap().token_exchange;
        assert_eq!(x.k8s_clusters["prod"].audiences, ["tessera"]);
        assert_eq!(x.policy.len(), 2);
        assert!(x.policy[1].clients.is_empty() && x.policy[1].scopes.is_empty());
        let none = parse("").unwrap().oauth.unwrap().token_exchange;
        assert!(none.policy.is_empty() && none.k8s_clusters.is_empty());
    }

    #[test]
    fn bad_policies_and_clusters_name_the_key() {
        let policy = |body: &str| format!("[[oauth.token_exchange.policy]]\n{body}\n");
        assert_eq!(
            key_of(&policy("subject = \"*\"\naudiences = [\"a\"]")),
            "oauth.token_exchange.policy[0].subject"
        );
        assert_eq!(
            key_of(&format!(
                "{}{}",
                policy("subject = \"spiffe://example.org/a\"\naudiences = [\"a\"]"),
                policy("subject = \"spiffe://example.org/b\"\naudiences = []")
            )),
            "oauth.token_exchange.policy[1].audiences"
        );
        assert_eq!(
            key_of(&policy(
                "subject = \"spiffe://example.org/a\"\naudiences = [\"a\"]\nscopes = [\"a b\"]"
            )),
            "oauth.token_exchange.policy[0].scopes"
        );
        let cluster = |name: &str, body: &str| {
            format!("[oauth.token_exchange.k8s_clusters.{name}]\n{body}\n")
        };
        assert_eq!(
            key_of(&cluster("c1", "issuer = \"https://k\"\naudiences = []")),
            "oauth.token_exchange.k8s_clusters.c1.audiences"
        );
        assert_eq!(
            key_of(&format!(
                "{}{}",
                cluster("c1", "issuer = \"https://k\"\naudiences = [\"t\"]"),
                cluster("c2", "issuer = \"https://k\"\naudiences = [\"t\"]")
            )),
            "oauth.token_exchange.k8s_clusters.c2.issuer"
        );
    }
}
