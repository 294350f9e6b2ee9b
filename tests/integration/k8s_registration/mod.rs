//! The Kubernetes registration controller against the Kubernetes stand-in, with the real
//! `tessera-server` binary: `ClusterSPIFFEID`s and pods become entries the node's agent
//! is authorized for; label changes, deletions, restarts, 410 Gone relists, invalid
//! templates, manual entries, and two replicas electing one leader.

mod controller;
mod replicas;
mod workload;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tessera_tests::ServerProcess;
use tessera_tests::k8s::{KubeStandIn, PodSpec};

/// How long a change may take to show up.
const WAIT: Duration = Duration::from_secs(30);

/// The stand-in with one node, the agent's pod and a `shop` namespace, and the server
/// config sections (k8s_psat + controller) pointing at it.
pub struct Cluster {
    pub kube: KubeStandIn,
    pub node_uid: String,
    pub extra: String,
}

pub fn cluster(dir: &Path) -> Cluster {
    let kube = KubeStandIn::start();
    let node = kube.add_node("node-1");
    kube.add_pod(
        PodSpec::new("tessera", "tessera-agent-x1", "tessera-agent", "node-1")
            .label("app", "tessera-agent"),
    );
    kube.set_namespace("shop", &[("team", "shop")]);
    let kubeconfig = dir.join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig);
    let extra = format!(
        "[node_attestors.k8s_psat.clusters.c1]\n\
         service_account_allow_list = [\"tessera:tessera-agent\"]\n\
         kubeconfig = \"{k}\"\n\
         [[k8s_registration]]\n\
         cluster_name = \"c1\"\n\
         kubeconfig = \"{k}\"\n\
         lease_duration = \"3s\"\n\
         renew_interval = \"1s\"\n\
         resync_interval = \"2s\"\n",
        k = kubeconfig.display()
    );
    Cluster {
        kube,
        node_uid: node.uid,
        extra,
    }
}

/// `spiffe://example.org/tessera/agent/k8s_psat/c1/<node uid>`.
pub fn agent_id(node_uid: &str) -> String {
    format!("spiffe://example.org/tessera/agent/k8s_psat/c1/{node_uid}")
}

/// Every entry (`entry show --output json`).
pub fn entries(server: &ServerProcess) -> Vec<Value> {
    let out = server.ok(&["entry", "show", "--output", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["entries"].as_array().cloned().unwrap_or_default()
}

/// The entries the controller owns.
pub fn owned(server: &ServerProcess) -> Vec<Value> {
    entries(server)
        .into_iter()
        .filter(|e| e["managed_by"] == "k8s_registration/c1")
        .collect()
}

/// The SPIFFE IDs of the entries the controller owns, sorted.
pub fn owned_ids(server: &ServerProcess) -> Vec<String> {
    let mut ids: Vec<String> = owned(server)
        .iter()
        .map(|e| e["spiffe_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Polls `f` until it returns `Some`, or panics after [`WAIT`] with `what`.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The spec used by most tests: pods labelled `app=web`, ID by namespace and account.
pub fn web_spec() -> Value {
    json!({
        "spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/{{ .PodMeta.Name }}",
        "podSelector": {"matchLabels": {"app": "web"}},
        "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
        "dnsNameTemplates": ["{{ .PodMeta.Name }}.{{ .PodMeta.Namespace }}.svc.{{ .ClusterDomain }}"],
        "ttl": "30m",
    })
}

/// The selectors of an entry as `type:value` strings.
pub fn selectors(entry: &Value) -> Vec<String> {
    entry["selectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["type"].as_str().unwrap(),
                s["value"].as_str().unwrap()
            )
        })
        .collect()
}
