//! [`NodeAttestors`]: picks the attestor an agent names and audits every attempt.

use std::time::SystemTime;

use tessera_proto::identity::TrustDomain;

use super::k8s_psat::{K8sPsat, KubeApi, KubeClient};
use super::{AttestationError, Attested, JoinTokens, NodeAttestor};
use crate::datastore::JoinTokenStore;

/// Longest attestor type echoed into the audit log.
const MAX_TYPE_ECHO: usize = 32;

/// Every enabled node attestor: `join_token` always, `k8s_psat` when clusters are
/// configured.
#[derive(Debug)]
pub struct NodeAttestors<S, K = KubeClient> {
    join_token: JoinTokens<S>,
    k8s_psat: Option<K8sPsat<K>>,
}

impl<S: JoinTokenStore, K: KubeApi> NodeAttestors<S, K> {
    /// Join tokens of `trust_domain` in `store`, plus `k8s_psat` when given.
    pub fn new(trust_domain: TrustDomain, store: S, k8s_psat: Option<K8sPsat<K>>) -> Self {
        Self {
            join_token: JoinTokens::new(trust_domain, store),
            k8s_psat,
        }
    }

    /// The names of the enabled attestors.
    pub fn enabled(&self) -> Vec<&'static str> {
        let mut names = vec![self.join_token.name()];
        names.extend(self.k8s_psat.as_ref().map(NodeAttestor::name));
        names
    }

    /// The join-token attestor (also what generates tokens).
    pub fn join_tokens(&self) -> &JoinTokens<S> {
        &self.join_token
    }

    /// Attests with the attestor named `attestor_type`, at `now`, for the connection
    /// `peer` (an address, for the audit trail). Emits exactly one audit event
    /// (`target: tessera::audit`, `event = "node_attestation"`) whatever the outcome.
    pub async fn attest(
        &self,
        attestor_type: &str,
        payload: &[u8],
        now: SystemTime,
        peer: &str,
    ) -> Result<Attested, AttestationError> {
        let result = match attestor_type {
            "join_token" => self.join_token.attest(payload, now).await,
            "k8s_psat" => match &self.k8s_psat {
                Some(psat) => psat.attest(payload, now).await,
                None => Err(AttestationError::InvalidPayload(
                    "attestor k8s_psat is not enabled on this server".into(),
                )),
            },
            _ => Err(AttestationError::InvalidPayload(
                "unknown node attestor type".into(),
            )),
        };
        let attestor: String = attestor_type.chars().take(MAX_TYPE_ECHO).collect();
        match &result {
            Ok(a) => tracing::info!(
                target: "tessera::audit",
                event = "node_attestation",
                attestor = %attestor,
                outcome = "success",
                agent_id = %a.agent_id,
                reason = "",
                peer,
            ),
            Err(e) => tracing::warn!(
                target: "tessera::audit",
                event = "node_attestation",
                attestor = %attestor,
                outcome = e.outcome(),
                agent_id = "",
                reason = %e,
                peer,
            ),
        }
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::attestation::k8s_psat::KubeClient;
    use crate::datastore::memory::MemoryStore;
    use crate::test_support::{Capture, set_default};

    fn attestors() -> NodeAttestors<MemoryStore, KubeClient> {
        NodeAttestors::new(
            "example.org".parse().unwrap(),
            MemoryStore::default(),
            None::<K8sPsat<KubeClient>>,
        )
    }

    #[tokio::test]
    async fn one_audit_event_per_attempt_without_the_token() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(capture.clone()),
        );
        let _guard = set_default(subscriber);

        let na = attestors();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let (token, _) = na
            .join_tokens()
            .generate(
                None,
                Some("spiffe://example.org/tessera/agent/n1".parse().unwrap()),
                now,
            )
            .await
            .unwrap();
        let ok = na
            .attest("join_token", token.as_bytes(), now, "10.0.0.1:5000")
            .await
            .unwrap();
        assert_eq!(
            ok.agent_id.as_str(),
            "spiffe://example.org/tessera/agent/n1"
        );
        let replay = na
            .attest("join_token", token.as_bytes(), now, "10.0.0.2:5000")
            .await
            .unwrap_err();
        assert!(matches!(replay, AttestationError::Refused(_)));
        let unknown = na.attest("tpm", b"x", now, "p").await.unwrap_err();
        assert!(matches!(unknown, AttestationError::InvalidPayload(_)));
        let psat = na.attest("k8s_psat", b"{}", now, "p").await.unwrap_err();
        assert!(matches!(psat, AttestationError::InvalidPayload(_)));

        let text = capture.text();
        assert!(!text.contains(&token), "{text}");
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 4, "{text}");
        let field = |i: usize, k: &str| events[i]["fields"][k].as_str().unwrap().to_string();
        assert!(events.iter().all(|e| e["target"] == "tessera::audit"));
        assert_eq!(field(0, "event"), "node_attestation");
        assert_eq!(field(0, "outcome"), "success");
        assert_eq!(field(0, "attestor"), "join_token");
        assert_eq!(
            field(0, "agent_id"),
            "spiffe://example.org/tessera/agent/n1"
        );
        assert_eq!(field(0, "peer"), "10.0.0.1:5000");
        assert_eq!(events[0]["level"], "INFO");
        assert_eq!(field(1, "outcome"), "refused");
        assert!(field(1, "reason").contains("already been used"));
        assert_eq!(field(1, "peer"), "10.0.0.2:5000");
        assert_eq!(events[1]["level"], "WARN");
        assert_eq!(field(2, "outcome"), "invalid");
        assert_eq!(field(2, "attestor"), "tpm");
        assert!(field(3, "reason").contains("not enabled"));
    }
}
