//! `k8s_psat` against a fake API server: every refusal, and the exact selectors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::*;
use crate::attestation::{AttestationError, NodeAttestor};
use crate::config::K8sPsatCluster;

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.secret-token-body.sig";

/// A fake API server: one TokenReview answer, pods and nodes by name.
#[derive(Default)]
struct FakeKube {
    review: Option<Result<TokenReviewStatus, KubeApiError>>,
    pods: BTreeMap<(String, String), PodInfo>,
    nodes: BTreeMap<String, NodeInfo>,
    requested: Mutex<Vec<(String, Vec<String>)>>,
}

impl KubeApi for FakeKube {
    async fn token_review(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenReviewStatus, KubeApiError> {
        self.requested
            .lock()
            .unwrap()
            .push((token.to_string(), audiences.to_vec()));
        self.review.clone().unwrap()
    }

    async fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<PodInfo>, KubeApiError> {
        Ok(self
            .pods
            .get(&(namespace.to_string(), name.to_string()))
            .cloned())
    }

    async fn get_node(&self, name: &str) -> Result<Option<NodeInfo>, KubeApiError> {
        Ok(self.nodes.get(name).cloned())
    }
}

fn good_review() -> TokenReviewStatus {
    let extra = |v: &str| vec![v.to_string()];
    TokenReviewStatus {
        authenticated: Some(true),
        error: None,
        username: "system:serviceaccount:tessera:tessera-agent".into(),
        audiences: vec!["tessera-server".into()],
        extra: BTreeMap::from([
            (
                "authentication.kubernetes.io/pod-name".to_string(),
                extra("agent-x7"),
            ),
            (
                "authentication.kubernetes.io/pod-uid".to_string(),
                extra("pod-uid-1"),
            ),
            (
                "authentication.kubernetes.io/node-name".to_string(),
                extra("node-a"),
            ),
        ]),
    }
}

fn good_kube() -> FakeKube {
    FakeKube {
        review: Some(Ok(good_review())),
        pods: BTreeMap::from([(
            ("tessera".to_string(), "agent-x7".to_string()),
            PodInfo {
                uid: "pod-uid-1".into(),
                node_name: "node-a".into(),
                host_ip: "10.1.2.3".into(),
                labels: BTreeMap::from([
                    ("app".to_string(), "tessera-agent".to_string()),
                    ("secret-ish".to_string(), "no".to_string()),
                ]),
            },
        )]),
        nodes: BTreeMap::from([(
            "node-a".to_string(),
            NodeInfo {
                uid: "node-uid-9".into(),
                labels: BTreeMap::from([
                    (
                        "topology.kubernetes.io/zone".to_string(),
                        "eu-1a".to_string(),
                    ),
                    ("kubernetes.io/os".to_string(), "linux".to_string()),
                ]),
            },
        )]),
        requested: Mutex::default(),
    }
}

fn attestor(kube: FakeKube) -> K8sPsat<FakeKube> {
    let config = K8sPsatCluster {
        service_account_allow_list: vec!["tessera:tessera-agent".into()],
        audience: vec!["tessera-server".into(), "other".into()],
        kubeconfig: None,
        allowed_node_label_keys: vec!["topology.kubernetes.io/zone".into()],
        allowed_pod_label_keys: vec!["app".into()],
    };
    K8sPsat::new(
        "example.org".parse().unwrap(),
        BTreeMap::from([("prod".to_string(), PsatCluster::new(&config, kube))]),
    )
}

fn payload(cluster: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"cluster": cluster, "token": TOKEN})).unwrap()
}

async fn attest_with(kube: FakeKube) -> Result<crate::attestation::Attested, AttestationError> {
    attestor(kube)
        .attest(&payload("prod"), SystemTime::UNIX_EPOCH)
        .await
}

/// Runs with a modified fake and expects a refusal mentioning `needle`.
async fn refused(kube: FakeKube, needle: &str) {
    let err = attest_with(kube).await.unwrap_err();
    assert!(matches!(err, AttestationError::Refused(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    assert!(!text.contains("secret-token-body"), "{text}");
}

fn with_review(f: impl FnOnce(&mut TokenReviewStatus)) -> FakeKube {
    let mut review = good_review();
    f(&mut review);
    FakeKube {
        review: Some(Ok(review)),
        ..good_kube()
    }
}

#[tokio::test]
async fn success_gives_the_node_uid_id_and_exact_selectors() {
    let kube = good_kube();
    let psat = attestor(kube);
    let a = psat
        .attest(&payload("prod"), SystemTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(
        a.agent_id.as_str(),
        "spiffe://example.org/tessera/agent/k8s_psat/prod/node-uid-9"
    );
    let selectors: Vec<String> = a.selectors.iter().map(ToString::to_string).collect();
    assert_eq!(
        selectors,
        [
            "k8s_psat:cluster:prod",
            "k8s_psat:agent_ns:tessera",
            "k8s_psat:agent_sa:tessera-agent",
            "k8s_psat:agent_pod_name:agent-x7",
            "k8s_psat:agent_pod_uid:pod-uid-1",
            "k8s_psat:agent_node_ip:10.1.2.3",
            "k8s_psat:agent_node_name:node-a",
            "k8s_psat:agent_node_uid:node-uid-9",
            "k8s_psat:agent_node_label:topology.kubernetes.io/zone:eu-1a",
            "k8s_psat:agent_pod_label:app:tessera-agent",
        ]
    );
    assert!(a.can_reattest);
    assert_eq!(a.attestor, "k8s_psat");
    let cluster = psat.clusters.get("prod").unwrap();
    let requested = cluster.api.requested.lock().unwrap();
    assert_eq!(
        *requested,
        [(
            TOKEN.to_string(),
            vec!["tessera-server".to_string(), "other".to_string()]
        )]
    );
}

#[tokio::test]
async fn refuses_unauthenticated_and_forged_tokens() {
    // A forged or expired token: `authenticated` absent, an error set.
    refused(
        with_review(|r| {
            *r = TokenReviewStatus {
                error: Some(format!("[invalid bearer token, {TOKEN} has expired]")),
                ..Default::default()
            }
        }),
        "not authenticated",
    )
    .await;
    refused(
        with_review(|r| r.authenticated = Some(false)),
        "not authenticated",
    )
    .await;
    refused(
        with_review(|r| r.error = Some("something odd".into())),
        "something odd",
    )
    .await;
}

#[tokio::test]
async fn refuses_wrong_audience_and_accounts() {
    refused(
        with_review(|r| r.audiences = vec!["kubernetes".into()]),
        "audiences",
    )
    .await;
    refused(with_review(|r| r.audiences.clear()), "audiences").await;
    refused(
        with_review(|r| r.username = "system:serviceaccount:default:default".into()),
        "\"default:default\" is not an allowed service account",
    )
    .await;
    refused(
        with_review(|r| r.username = "alice".into()),
        "not belong to a service account",
    )
    .await;
}

#[tokio::test]
async fn refuses_missing_extras() {
    refused(
        with_review(|r| {
            r.extra.remove("authentication.kubernetes.io/pod-name");
        }),
        "pod-name",
    )
    .await;
    refused(
        with_review(|r| {
            r.extra.remove("authentication.kubernetes.io/pod-uid");
        }),
        "pod-uid",
    )
    .await;
    refused(
        with_review(|r| {
            r.extra.insert(
                "authentication.kubernetes.io/pod-uid".into(),
                vec!["a".into(), "b".into()],
            );
        }),
        "pod-uid",
    )
    .await;
}

#[tokio::test]
async fn refuses_pod_and_node_problems() {
    let mut kube = good_kube();
    kube.pods.clear();
    refused(kube, "pod tessera/agent-x7 not found").await;

    let mut kube = good_kube();
    for pod in kube.pods.values_mut() {
        pod.uid = "another-pod".into();
    }
    refused(kube, "UID").await;

    let mut kube = good_kube();
    kube.nodes.clear();
    refused(kube, "node node-a not found").await;

    let mut kube = good_kube();
    for node in kube.nodes.values_mut() {
        node.uid.clear();
    }
    refused(kube, "no UID").await;
}

#[tokio::test]
async fn unknown_cluster_and_malformed_payloads_are_invalid() {
    let psat = attestor(good_kube());
    let now = SystemTime::UNIX_EPOCH;
    let bad: [&[u8]; 6] = [
        &payload("staging"),
        b"not json",
        br#"{"cluster": "prod"}"#,
        br#"{"cluster": "", "token": "t"}"#,
        br#"{"cluster": "prod", "token": ""}"#,
        br#"{"cluster": "prod", "token": 5}"#,
    ];
    for p in bad {
        let err = psat.attest(p, now).await.unwrap_err();
        assert!(matches!(err, AttestationError::InvalidPayload(_)), "{err}");
    }
    assert!(
        psat.clusters["prod"]
            .api
            .requested
            .lock()
            .unwrap()
            .is_empty(),
        "nothing reaches the API server"
    );
}

#[tokio::test]
async fn api_failures_map_to_unavailable_and_internal() {
    let kube = FakeKube {
        review: Some(Err(KubeApiError::Unreachable("connection refused".into()))),
        ..good_kube()
    };
    let err = attest_with(kube).await.unwrap_err();
    assert!(matches!(err, AttestationError::Unavailable(_)), "{err}");
    let kube = FakeKube {
        review: Some(Err(KubeApiError::Api("403 Forbidden".into()))),
        ..good_kube()
    };
    let err = attest_with(kube).await.unwrap_err();
    assert!(matches!(err, AttestationError::Internal(_)), "{err}");
}
