//! k8s_psat against the Kubernetes stand-in: a real agent attests with its projected token;
//! every forged or mismatched token is refused with PermissionDenied and an audit event.

use std::time::Duration;

use tessera_tests::k8s::{KubeStandIn, PodSpec, TokenRequest};
use tessera_tests::{AgentApi, AgentProcess, fresh_key};

use super::server;

const WAIT: Duration = Duration::from_secs(30);

struct Cluster {
    kube: KubeStandIn,
    node_uid: String,
    extra: String,
}

fn cluster(dir: &std::path::Path) -> Cluster {
    let kube = KubeStandIn::start();
    let node = kube.add_node("node-1");
    kube.set_node_label("node-1", "topology.kubernetes.io/zone", "z1");
    kube.add_pod(
        PodSpec::new("tessera", "tessera-agent-x1", "tessera-agent", "node-1")
            .label("app", "tessera-agent"),
    );
    kube.add_pod(PodSpec::new("default", "intruder", "default", "node-1"));
    let kubeconfig = dir.join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig);
    let extra = format!(
        "[node_attestors.k8s_psat.clusters.c1]\nservice_account_allow_list = [\"tessera:tessera-agent\"]\nkubeconfig = \"{}\"\nallowed_node_label_keys = [\"topology.kubernetes.io/zone\"]\nallowed_pod_label_keys = [\"app\"]\n",
        kubeconfig.display()
    );
    Cluster {
        kube,
        node_uid: node.uid,
        extra,
    }
}

fn agent_token() -> TokenRequest {
    TokenRequest::new("tessera", "tessera-agent")
        .pod("tessera-agent-x1")
        .audience("tessera-server")
}

fn payload(token: &str) -> Vec<u8> {
    serde_json::json!({"cluster": "c1", "token": token})
        .to_string()
        .into_bytes()
}

#[test]
fn a_k8s_psat_agent_attests_with_node_selectors_and_may_reattest() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let (server, address) = server(dir.path(), &c.extra);
    let bundle = dir.path().join("bundle.pem");
    super::write_bundle(&server, &bundle);
    let token_path = dir.path().join("psat-token");
    std::fs::write(&token_path, c.kube.issue_token(&agent_token())).unwrap();
    let config = format!(
        "trust_domain = \"example.org\"\nserver_address = \"{address}\"\ntrust_bundle_path = \"{}\"\nsync_interval = \"500ms\"\n[node_attestor.k8s_psat]\ncluster = \"c1\"\ntoken_path = \"{}\"\n",
        bundle.display(),
        token_path.display()
    );
    let agent_id = format!(
        "spiffe://example.org/tessera/agent/k8s_psat/c1/{}",
        c.node_uid
    );
    let mut agent = AgentProcess::spawn(&dir.path().join("agent"), &config);
    agent.wait_for_log(&format!("attested as {agent_id}"), WAIT);

    let shown: serde_json::Value = serde_json::from_str(&server.ok(&[
        "agent",
        "show",
        "--spiffe-id",
        &agent_id,
        "--output",
        "json",
    ]))
    .unwrap();
    let selectors: Vec<&str> = shown["selectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in [
        "k8s_psat:cluster:c1",
        "k8s_psat:agent_ns:tessera",
        "k8s_psat:agent_sa:tessera-agent",
        "k8s_psat:agent_pod_name:tessera-agent-x1",
        "k8s_psat:agent_node_name:node-1",
        "k8s_psat:agent_node_label:topology.kubernetes.io/zone:z1",
        "k8s_psat:agent_pod_label:app:tessera-agent",
    ] {
        assert!(
            selectors.contains(&want),
            "{want} missing from {selectors:?}"
        );
    }
    assert_eq!(shown["can_reattest"], true);

    // A node alias on the agent's selectors authorizes its workloads' entries.
    server.ok(&[
        "entry",
        "create",
        "--node",
        "--spiffe-id",
        "spiffe://example.org/nodes/c1",
        "--selector",
        "k8s_psat:cluster:c1",
    ]);
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/nodes/c1",
        "--spiffe-id",
        "spiffe://example.org/ns/default/sa/web",
        "--selector",
        "k8s:ns:default",
    ]);
    agent.wait_for_log(
        "issued X509-SVID for spiffe://example.org/ns/default/sa/web",
        WAIT,
    );

    // Evicted: the k8s_psat agent attests again by itself.
    server.ok(&["agent", "evict", "--spiffe-id", &agent_id]);
    agent.wait_for_log("attesting again", WAIT);
    let deadline = std::time::Instant::now() + WAIT;
    while server
        .cli(&["agent", "show", "--spiffe-id", &agent_id])
        .status
        .code()
        != Some(0)
    {
        assert!(std::time::Instant::now() < deadline, "{}", agent.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn forged_expired_misaddressed_and_mismatched_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let (server, address) = server(dir.path(), &c.extra);
    let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
    let csr = fresh_key().csr;

    let forged = c.kube.forge_token(&agent_token());
    let expired = c
        .kube
        .issue_token(&agent_token().expired(Duration::from_secs(3600)));
    let wrong_audience = c.kube.issue_token(
        &TokenRequest::new("tessera", "tessera-agent")
            .pod("tessera-agent-x1")
            .audience("someone-else"),
    );
    let not_allowed = c.kube.issue_token(
        &TokenRequest::new("default", "default")
            .pod("intruder")
            .audience("tessera-server"),
    );
    let stale_pod = c.kube.issue_token(&agent_token());
    c.kube.recreate_pod("tessera", "tessera-agent-x1");
    for (what, token) in [
        ("forged", &forged),
        ("expired", &expired),
        ("wrong audience", &wrong_audience),
        ("service account not allowed", &not_allowed),
        ("pod recreated (UID mismatch)", &stale_pod),
    ] {
        let err = api.attest("k8s_psat", &payload(token), &csr).unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{what}: {err:?}");
        assert!(
            !err.message().contains(token.as_str()),
            "{what}: the token leaked into the error"
        );
    }
    let err = api.attest("k8s_psat", b"{not json", &csr).unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = api
        .attest(
            "k8s_psat",
            &serde_json::json!({"cluster": "nope", "token": "x"})
                .to_string()
                .into_bytes(),
            &csr,
        )
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // The recreated pod's fresh token works; nothing was issued before.
    assert_eq!(
        super::agents_json(&server)["agents"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    api.attest(
        "k8s_psat",
        &payload(&c.kube.issue_token(&agent_token())),
        &csr,
    )
    .unwrap();
    assert_eq!(
        super::agents_json(&server)["agents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // One audit event per attempt; no token ever in the log.
    let log = server.log();
    let audits = log
        .lines()
        .filter(|l| l.contains("node_attestation"))
        .count();
    assert!(audits >= 8, "{audits} audit events:\n{log}");
    for token in [&forged, &expired, &wrong_audience, &not_allowed, &stale_pod] {
        assert!(
            !log.contains(token.as_str()),
            "a token reached the server log"
        );
    }
}
