//! End to end: a `ClusterSPIFFEID` and a pod become an entry, and the pod's process on that
//! node fetches its SVID with the unmodified python `spiffe` client from a real agent
//! (k8s_psat node attestation, k8s workload attestation against the stand-in's kubelet).
//!
//! The process is tied to the pod the way a node ties it: its cgroup names the pod's
//! container. This machine's processes are in no pod, so the agent reads `/proc` and `/etc`
//! under `[workload_attestor] host_root`, a fixture where the client's own PID (a shell
//! that writes its entry, then `exec`s python: same PID, same start time) has the pod's
//! cgroup.

use std::path::PathBuf;
use std::process::Command;

use tessera_tests::AgentProcess;
use tessera_tests::k8s::{PodSpec, TokenRequest};

use super::{WAIT, agent_id, cluster, owned_ids, wait_for, web_spec};

fn python() -> PathBuf {
    std::env::var("TESSERA_PYTHON").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python"),
        PathBuf::from,
    )
}

#[test]
fn a_selected_pod_fetches_its_svid_with_the_python_spiffe_client() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let (server, address) = crate::agent::server(dir.path(), &c.extra);
    let pod = c.kube.add_pod(
        PodSpec::new("shop", "web-0", "web", "node-1")
            .label("app", "web")
            .container("server", "web:1"),
    );
    c.kube.apply_cluster_spiffe_id("web", web_spec());
    let want = "spiffe://example.org/ns/shop/sa/web/web-0";
    wait_for("the pod's entry", || {
        owned_ids(&server).contains(&want.to_string()).then_some(())
    });

    // The node's agent: k8s_psat, and the k8s workload attestor on the stand-in's kubelet.
    let root = dir.path().join("host");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy("/etc/passwd", root.join("etc/passwd")).unwrap();
    std::fs::copy("/etc/group", root.join("etc/group")).unwrap();
    let bundle = dir.path().join("bundle.pem");
    crate::agent::write_bundle(&server, &bundle);
    let token_path = dir.path().join("psat-token");
    let token = TokenRequest::new("tessera", "tessera-agent")
        .pod("tessera-agent-x1")
        .audience("tessera-server");
    std::fs::write(&token_path, c.kube.issue_token(&token)).unwrap();
    let socket = dir.path().join("agent.sock");
    let config = format!(
        "trust_domain = \"example.org\"\nserver_address = \"{address}\"\n\
         trust_bundle_path = \"{}\"\nsocket_path = \"{}\"\nsync_interval = \"500ms\"\n\
         [node_attestor.k8s_psat]\ncluster = \"c1\"\ntoken_path = \"{}\"\n\
         [workload_attestor]\nhost_root = \"{}\"\n\
         [workload_attestor.k8s]\nkubelet_url = \"{}\"\n",
        bundle.display(),
        socket.display(),
        token_path.display(),
        root.display(),
        c.kube.kubelet_readonly_url(),
    );
    let mut agent = AgentProcess::spawn(&dir.path().join("agent"), &config);
    agent.wait_for_log(&format!("attested as {}", agent_id(&c.node_uid)), WAIT);

    // The workload: its cgroup (in the fixture) names the pod's container.
    let pod_uid = pod.uid.replace('-', "_");
    let cgroup = format!(
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_uid}.slice/cri-containerd-{}.scope",
        pod.containers[0].id
    );
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/python/workload_client.py");
    let shell = "set -e; p=\"$ROOT/proc/$$\"; mkdir -p \"$p\"; cat /proc/$$/stat > \"$p/stat\"; \
         cat /proc/$$/status > \"$p/status\"; printf '%s\\n' \"$CGROUP\" > \"$p/cgroup\"; \
         printf '30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\\n' > \"$p/mountinfo\"; \
         exec \"$PYTHON\" \"$SCRIPT\" \"$SOCKET\" spiffe://example.org/db";
    // The entry reaches the agent at its next sync: retry until the SVID is there.
    let deadline = std::time::Instant::now() + WAIT;
    let report = loop {
        let out = tessera_tests::guard::output(
            Command::new("sh")
                .args(["-c", shell])
                .env("ROOT", &root)
                .env("CGROUP", &cgroup)
                .env("PYTHON", python())
                .env("SCRIPT", &script)
                .env("SOCKET", &socket),
        );
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the python client got no SVID: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            agent.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert_eq!(report["x509_spiffe_id"], want, "{report}");
    assert_eq!(report["jwt_spiffe_id"], want, "{report}");
    assert_eq!(report["validated_spiffe_id"], want, "{report}");
}
