//! The k8s workload attestor against the Kubernetes stand-in's kubelet: a process whose
//! cgroup names a container of a pod gets that pod's selectors, over the read-only and the
//! secure (token + CA) kubelet ports; a container no pod lists is `Unavailable`.

use std::path::Path;

use tessera_agent::attestor::workload::{Caller, WorkloadAttestError, WorkloadAttestors};
use tessera_agent::config::AgentConfig;
use tessera_tests::k8s::{KubeStandIn, PodInfo, PodSpec};

const PID: i32 = 4242;

/// A fixture `/proc/4242` (and `/etc`) for a process in `pod`'s first container (cgroup v2,
/// systemd driver, containerd).
fn fixture(root: &Path, pod: &PodInfo) {
    let proc_dir = root.join(format!("proc/{PID}"));
    std::fs::create_dir_all(&proc_dir).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        proc_dir.join("stat"),
        format!("{PID} (web server) S 1 {PID} {PID} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"),
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("status"),
        "Name:\tweb\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t\n",
    )
    .unwrap();
    let pod_uid = pod.uid.replace('-', "_");
    let container = &pod.containers[0].id;
    std::fs::write(
        proc_dir.join("cgroup"),
        format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_uid}.slice/cri-containerd-{container}.scope\n"),
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("mountinfo"),
        "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "web:x:1000:1000::/home/web:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/group"), "web:x:1000:\n").unwrap();
}

fn attestors(root: &Path, k8s_section: &str) -> WorkloadAttestors {
    let text = format!(
        "trust_domain = \"example.org\"\nserver_address = \"127.0.0.1:1\"\ninsecure_bootstrap = true\njoin_token = \"x\"\n[workload_attestor.k8s]\n{k8s_section}max_poll_attempts = 2\npoll_interval = \"50ms\"\n"
    );
    let config = AgentConfig::parse(&text, Path::new("agent.toml")).unwrap();
    WorkloadAttestors::from_config_at(&config, root).unwrap()
}

fn caller() -> Caller {
    Caller {
        pid: PID,
        uid: 1000,
        gid: 1000,
        start_time: 987_654,
    }
}

#[test]
fn a_process_in_a_pod_gets_the_pods_selectors_over_both_kubelet_ports() {
    let kube = KubeStandIn::start();
    kube.add_node("node-1");
    let pod = kube.add_pod(
        PodSpec::new("shop", "web-7d9", "web", "node-1")
            .label("app", "web")
            .container("server", "registry.example/web:1.2")
            .container("sidecar", "registry.example/proxy:3")
            .owner("ReplicaSet", "web-7d9f"),
    );
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &pod);
    let token = dir.path().join("token");
    std::fs::write(&token, kube.api_token()).unwrap();
    let ca = dir.path().join("kubelet-ca.pem");
    std::fs::write(&ca, kube.ca_pem()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let readonly = attestors(
        dir.path(),
        &format!("kubelet_url = \"{}\"\n", kube.kubelet_readonly_url()),
    );
    let secure = attestors(
        dir.path(),
        &format!(
            "kubelet_url = \"{}\"\ntoken_path = \"{}\"\nkubelet_ca_path = \"{}\"\n",
            kube.kubelet_secure_url(),
            token.display(),
            ca.display()
        ),
    );
    for attestors in [readonly, secure] {
        let selectors: Vec<String> = rt
            .block_on(attestors.attest(caller()))
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        for want in [
            "unix:uid:1000".to_string(),
            "unix:user:web".to_string(),
            "k8s:ns:shop".to_string(),
            "k8s:sa:web".to_string(),
            "k8s:pod-name:web-7d9".to_string(),
            format!("k8s:pod-uid:{}", pod.uid),
            "k8s:pod-label:app:web".to_string(),
            "k8s:pod-owner:ReplicaSet:web-7d9f".to_string(),
            "k8s:container-name:server".to_string(),
            "k8s:container-image:registry.example/web:1.2".to_string(),
            "k8s:node-name:node-1".to_string(),
            "k8s:pod-image-count:2".to_string(),
        ] {
            assert!(
                selectors.contains(&want),
                "{want} missing from {selectors:?}"
            );
        }
        assert!(
            !selectors.iter().any(|s| s.contains("sidecar")),
            "{selectors:?}"
        );
    }
}

#[test]
fn a_container_no_pod_lists_is_unavailable_and_a_process_outside_pods_gets_unix_only() {
    let kube = KubeStandIn::start();
    kube.add_node("node-1");
    let pod =
        kube.add_pod(PodSpec::new("shop", "web", "web", "node-1").container("server", "web:1"));
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &pod);
    kube.delete_pod("shop", "web");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let section = format!("kubelet_url = \"{}\"\n", kube.kubelet_readonly_url());
    let err = rt
        .block_on(attestors(dir.path(), &section).attest(caller()))
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::Unavailable(_)), "{err}");

    std::fs::write(
        dir.path().join(format!("proc/{PID}/cgroup")),
        "0::/user.slice/user-1000.slice/session-3.scope\n",
    )
    .unwrap();
    let selectors = rt
        .block_on(attestors(dir.path(), &section).attest(caller()))
        .unwrap();
    assert!(!selectors.is_empty());
    assert!(
        selectors.iter().all(|s| s.kind() == "unix"),
        "{selectors:?}"
    );
}
