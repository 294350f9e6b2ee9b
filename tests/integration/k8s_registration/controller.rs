//! One server on sled: entries follow resources, pods and labels; the node's agent gets
//! SVIDs for them; manual entries are untouched; a restart and a 410 relist cause no churn.

use serde_json::json;
use tessera_tests::AgentApi;
use tessera_tests::k8s::{PodSpec, TokenRequest};

use super::*;
use crate::agent::server;

fn wait_ids(server: &ServerProcess, want: &[&str]) {
    wait_for(&format!("owned entries {want:?}"), || {
        (owned_ids(server) == want).then_some(())
    });
}

const WEB0: &str = "spiffe://example.org/ns/shop/sa/web/web-0";
const WEB1: &str = "spiffe://example.org/ns/shop/sa/web/web-1";

#[test]
fn pods_get_entries_that_follow_labels_deletions_restarts_and_relists() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let (mut server, address) = server(dir.path(), &c.extra);
    let agent = agent_id(&c.node_uid);

    // A manual entry under the same agent with a pod-like selector set, made first.
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent,
        "--spiffe-id",
        "spiffe://example.org/manual",
        "--selector",
        "k8s:ns:shop",
        "--selector",
        "k8s:sa:web",
    ]);
    let manual = entries(&server)
        .into_iter()
        .find(|e| e["spiffe_id"] == "spiffe://example.org/manual")
        .unwrap();
    assert_eq!(manual["managed_by"], "");

    let web0 = c
        .kube
        .add_pod(PodSpec::new("shop", "web-0", "web", "node-1").label("app", "web"));
    c.kube
        .add_pod(PodSpec::new("shop", "db-0", "db", "node-1").label("app", "db"));
    c.kube
        .add_pod(PodSpec::new("default", "web-x", "web", "node-1").label("app", "web"));
    c.kube.apply_cluster_spiffe_id("web", web_spec());

    wait_ids(&server, &[WEB0]);
    let entry = owned(&server).remove(0);
    assert_eq!(entry["parent_id"], agent.as_str());
    assert_eq!(
        selectors(&entry),
        [
            "k8s:ns:shop".to_string(),
            format!("k8s:pod-uid:{}", web0.uid),
            "k8s:sa:web".to_string()
        ]
    );
    assert_eq!(entry["dns_names"], json!(["web-0.shop.svc.cluster.local"]));
    assert_eq!(entry["x509_svid_ttl"], 1800);

    // Status: stats and a Ready condition.
    let status = wait_for("status of web", || {
        let r = c.kube.cluster_spiffe_id("web")?;
        (r["status"]["stats"]["entriesToSet"] == 1).then(|| r["status"].clone())
    });
    assert_eq!(status["stats"]["podsSelected"], 1);
    assert_eq!(status["conditions"][0]["type"], "Ready");
    assert_eq!(status["conditions"][0]["status"], "True");

    // The node's agent (k8s_psat) is authorized for the entry and gets its SVID.
    let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
    let token = c.kube.issue_token(
        &TokenRequest::new("tessera", "tessera-agent")
            .pod("tessera-agent-x1")
            .audience("tessera-server"),
    );
    let payload = json!({"cluster": "c1", "token": token}).to_string();
    let agent_svid = api.attest_with_key("k8s_psat", payload.as_bytes()).unwrap();
    let svid = api.entry_svid(&agent_svid, entry["id"].as_str().unwrap());
    assert_eq!(svid.spiffe_id, WEB0);

    // Label changes: a pod that gains the label gets an entry, one that loses it loses it.
    c.kube
        .add_pod(PodSpec::new("shop", "web-1", "web", "node-1"));
    c.kube.set_pod_label("shop", "web-1", "app", Some("web"));
    wait_ids(&server, &[WEB0, WEB1]);
    c.kube.set_pod_label("shop", "web-0", "app", None);
    wait_ids(&server, &[WEB1]);
    c.kube.set_pod_label("shop", "web-0", "app", Some("web"));
    wait_ids(&server, &[WEB0, WEB1]);
    // Pod deleted: its entry goes.
    c.kube.delete_pod("shop", "web-1");
    wait_ids(&server, &[WEB0]);

    // The manual entry was never touched.
    let still = entries(&server)
        .into_iter()
        .find(|e| e["id"] == manual["id"])
        .unwrap();
    assert_eq!(still, manual);

    // Restart: the same entries, same IDs and revisions (no delete + create, no update).
    let before = entries(&server);
    let revisions_before = server.ok(&["entry", "count"]);
    server.stop();
    let server = ServerProcess::start_with(dir.path(), &dir.path().join("server.toml"));
    wait_for("caches synced after restart", || {
        server
            .log()
            .contains("k8s registration: caches synced")
            .then_some(())
    });
    // Two resync periods.
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(entries(&server), before, "a restart must not churn entries");
    assert_eq!(server.ok(&["entry", "count"]), revisions_before);
    assert!(
        !server.log().contains("k8s registration: reconciled"),
        "nothing to write after a restart:\n{}",
        server.log()
    );

    // Watch history compacted: the controller gets 410 Gone, relists, and keeps going.
    let lists = c.kube.lists_served("pods");
    c.kube.compact();
    wait_for("a 410 and a relist", || {
        (c.kube.gone_served() > 0 && c.kube.lists_served("pods") > lists).then_some(())
    });
    assert_eq!(entries(&server), before, "a relist must not churn entries");
    c.kube
        .add_pod(PodSpec::new("shop", "web-1", "web", "node-1").label("app", "web"));
    wait_ids(&server, &[WEB0, WEB1]);

    // The resource deleted: its entries go, the manual one stays.
    c.kube.delete_cluster_spiffe_id("web");
    wait_ids(&server, &[]);
    assert!(entries(&server).iter().any(|e| e["id"] == manual["id"]));
}

#[test]
fn invalid_templates_are_reported_and_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let (server, _) = server(dir.path(), &c.extra);
    c.kube
        .add_pod(PodSpec::new("shop", "web-0", "web", "node-1").label("app", "web"));
    // Outside the trust domain, and under Tessera's reserved /tessera/ path.
    c.kube.apply_cluster_spiffe_id(
        "foreign",
        json!({"spiffeIDTemplate": "spiffe://evil.org/{{ .PodMeta.Name }}"}),
    );
    c.kube.apply_cluster_spiffe_id(
        "agent-impersonation",
        json!({"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/tessera/agent/k8s_psat/c1/{{ .NodeMeta.UID }}"}),
    );
    // A valid ID with an invalid DNS name: nothing of the entry is written.
    c.kube.apply_cluster_spiffe_id(
        "bad-dns",
        json!({"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/dns/{{ .PodMeta.Name }}",
               "dnsNameTemplates": ["{{ .PodMeta.Name }}..bad"]}),
    );
    c.kube.apply_cluster_spiffe_id(
        "unknown-field",
        json!({"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/{{ .PodMeta.Nope }}"}),
    );
    for name in ["foreign", "agent-impersonation", "bad-dns"] {
        // The pod and the resources arrive on separate watches: a first status may be
        // written before the pod is seen (0 pods selected); wait for one that saw it.
        let status = wait_for(&format!("status of {name}"), || {
            let r = c.kube.cluster_spiffe_id(name)?;
            (r["status"]["conditions"].is_array() && r["status"]["stats"]["podsSelected"] == 1)
                .then(|| r["status"].clone())
        });
        assert_eq!(
            status["conditions"][0]["status"], "False",
            "{name}: {status}"
        );
        assert_eq!(status["conditions"][0]["reason"], "EntryErrors", "{name}");
        assert_eq!(status["stats"]["podEntryRenderFailures"], 1, "{name}");
        assert!(
            status["errors"][0].as_str().unwrap().contains("shop/web-0"),
            "{name}: {status}"
        );
    }
    let status = wait_for("status of unknown-field", || {
        let r = c.kube.cluster_spiffe_id("unknown-field")?;
        r["status"]["conditions"]
            .is_array()
            .then(|| r["status"].clone())
    });
    assert_eq!(status["conditions"][0]["reason"], "InvalidSpec");
    assert!(
        status["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field"),
        "{status}"
    );
    assert!(entries(&server).is_empty(), "{:?}", entries(&server));

    // Fixed: the entry appears, and the condition turns Ready.
    c.kube.apply_cluster_spiffe_id(
        "bad-dns",
        json!({"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/dns/{{ .PodMeta.Name }}",
               "dnsNameTemplates": ["{{ .PodMeta.Name }}.ok"]}),
    );
    wait_for("fixed entry", || (owned(&server).len() == 1).then_some(()));
    wait_for("Ready condition", || {
        let r = c.kube.cluster_spiffe_id("bad-dns")?;
        (r["status"]["conditions"][0]["status"] == "True").then_some(())
    });
}
