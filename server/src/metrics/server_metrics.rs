//! [`ServerMetrics`]: every server metric, registered under `tessera_server_`.

use prometheus_client::registry::Registry;
use tessera_proto::metrics::register_build_info;

use super::{DatastoreMetrics, LoginMetrics, NodeAttestationMetrics, SvidMetrics, TokenMetrics};

/// The prefix of every server metric but `tessera_build_info`.
pub const PREFIX: &str = "tessera_server";

/// The server's metrics, by the part that records them.
#[derive(Debug, Clone, Default)]
pub struct ServerMetrics {
    /// SVIDs signed (agent API).
    pub svids: SvidMetrics,
    /// Node attestations (agent API).
    pub node_attestation: NodeAttestationMetrics,
    /// OAuth token endpoint.
    pub tokens: TokenMetrics,
    /// Browser sign-ins.
    pub logins: LoginMetrics,
    /// Datastore operations.
    pub datastore: DatastoreMetrics,
}

impl ServerMetrics {
    /// Every server metric registered on a new registry (with `tessera_build_info`);
    /// `client_id_labels` adds the authenticated client's id to the token metrics.
    /// Scrape-time collectors (key expiry) are added with [`Registry::register_collector`]
    /// on the returned registry before it is shared.
    pub fn registered(client_id_labels: bool) -> (Self, Registry) {
        let mut root = Registry::default();
        register_build_info(&mut root, "tessera-server", env!("CARGO_PKG_VERSION"));
        let registry = root.sub_registry_with_prefix(PREFIX);
        let metrics = Self {
            svids: SvidMetrics::registered(registry),
            node_attestation: NodeAttestationMetrics::registered(registry),
            tokens: TokenMetrics::registered(registry, client_id_labels),
            logins: LoginMetrics::registered(registry),
            datastore: DatastoreMetrics::registered(registry),
        };
        (metrics, root)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_family_is_named_and_help_is_there() {
        let (metrics, registry) = ServerMetrics::registered(false);
        // Families keyed by labels that are not pre-created show once used.
        metrics
            .datastore
            .time("get_bundle", async { Ok(()) })
            .await
            .unwrap();
        metrics.svids.record(
            super::super::SvidKind::Jwt,
            tessera_proto::metrics::Outcome::Ok,
            std::time::Duration::ZERO,
        );
        metrics.tokens.record(
            super::super::TokenRequestSeen::default(),
            super::super::TokenResult::OK,
            std::time::Duration::ZERO,
        );
        metrics
            .datastore
            .time::<()>("get_bundle", async {
                Err(crate::datastore::DatastoreError::NotFound("x".into()))
            })
            .await
            .unwrap_err();
        metrics.logins.record(
            super::super::LoginFactor::Password,
            super::super::LoginResult::Failure,
        );
        let text = tessera_proto::metrics::encode(&registry).unwrap();
        assert!(
            text.contains("tessera_build_info{binary=\"tessera-server\""),
            "{text}"
        );
        assert!(
            text.contains("tessera_server_logins_total{factor=\"password\",result=\"failure\"} 1"),
            "{text}"
        );
        for name in [
            "tessera_server_svids_signed_total",
            "tessera_server_svid_signing_duration_seconds",
            "tessera_server_node_attestations_total",
            "tessera_server_oauth_token_requests_total",
            "tessera_server_oauth_token_duration_seconds",
            "tessera_server_datastore_operation_duration_seconds",
            "tessera_server_datastore_errors_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name}")),
                "{name} missing: {text}"
            );
        }
    }
}
