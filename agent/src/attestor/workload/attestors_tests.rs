#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::path::Path;
use std::sync::Mutex;

use super::*;
use crate::attestor::workload::kubelet::tests::{FakeKubelet, cgroup_root, kubelet_tls};
use crate::attestor::workload::pods::tests::WEB_SELECTORS;
use crate::attestor::workload::unix::tests::{fixture, my_uid};

/// Start times handed out in order; `None` = the process is gone.
#[derive(Debug)]
struct FakeStartTimes(Mutex<Vec<Option<u64>>>);

impl FakeStartTimes {
    fn new(times: &[Option<u64>]) -> Arc<Self> {
        Arc::new(Self(Mutex::new(times.iter().rev().copied().collect())))
    }
}

impl StartTimes for FakeStartTimes {
    fn start_time(&self, _pid: i32) -> io::Result<Option<u64>> {
        Ok(self.0.lock().unwrap().pop().flatten())
    }
}

const CALLER: Caller = Caller {
    pid: 4242,
    uid: 1001,
    gid: 2002,
    start_time: 7,
};

fn strings(v: &[Selector]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn fixture_attestors(root: &Path, times: &[Option<u64>]) -> WorkloadAttestors {
    WorkloadAttestors::new(root, UnixAttestor::new(root), None)
        .with_start_times(FakeStartTimes::new(times))
}

#[tokio::test]
async fn the_pid_reuse_guard() {
    let dir = fixture(b"");
    let ok = fixture_attestors(dir.path(), &[Some(7), Some(7)])
        .attest(CALLER)
        .await
        .unwrap();
    assert!(
        strings(&ok).contains(&"unix:uid:1001".to_string()),
        "{ok:?}"
    );
    for times in [&[Some(7), Some(8)][..], &[Some(7), None][..], &[None][..]] {
        let err = fixture_attestors(dir.path(), times)
            .attest(CALLER)
            .await
            .unwrap_err();
        assert!(
            matches!(err, WorkloadAttestError::ProcessChanged),
            "{times:?}: {err}"
        );
    }
    // A /proc UID other than the socket's peer UID: the PID now names someone else.
    let err = fixture_attestors(dir.path(), &[Some(7), Some(7)])
        .attest(Caller { uid: 0, ..CALLER })
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::ProcessChanged), "{err}");
    // The process vanished before /proc/PID/status was read.
    let err = fixture_attestors(dir.path(), &[Some(7), Some(7)])
        .attest(Caller {
            pid: 9999,
            ..CALLER
        })
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::ProcessChanged), "{err}");
    let err = fixture_attestors(dir.path(), &[])
        .attest(Caller { pid: 0, ..CALLER })
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::Failed(_)), "{err}");
}

/// The PID was reused after accept: the process behind it now is another one, stable
/// during attestation (same start time before and after), but not the one pinned at accept.
#[tokio::test]
async fn a_pid_reused_since_accept_is_refused() {
    let dir = fixture(b"");
    let err = fixture_attestors(dir.path(), &[Some(8), Some(8)])
        .attest(CALLER)
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::ProcessChanged), "{err}");
    let err = fixture_attestors(dir.path(), &[Some(8)])
        .still_there(CALLER)
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::ProcessChanged), "{err}");
    fixture_attestors(dir.path(), &[Some(7)])
        .still_there(CALLER)
        .unwrap();
}

#[tokio::test]
async fn the_real_current_process_with_the_real_guard() {
    let pid = i32::try_from(std::process::id()).unwrap();
    let uid = my_uid();
    let attestors = WorkloadAttestors::from_config(&config("")).unwrap();
    let start_time = ProcFs::new("/").start_time(pid).unwrap().unwrap();
    let caller = Caller {
        pid,
        uid,
        gid: 0,
        start_time,
    };
    let got = strings(&attestors.attest(caller).await.unwrap());
    assert!(got.contains(&format!("unix:uid:{uid}")), "{got:?}");
    assert!(!got.iter().any(|s| s.starts_with("unix:path:")), "{got:?}");
    let mut sorted = got.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(got, sorted);
}

fn config(extra: &str) -> AgentConfig {
    let text = format!(
        "trust_domain = \"example.org\"\nserver_address = \"tessera:8081\"\njoin_token = \"t\"\n{extra}"
    );
    AgentConfig::parse(&text, Path::new("agent.toml")).unwrap()
}

#[tokio::test]
async fn unix_and_k8s_from_config_against_a_fixture_node() {
    let kubelet = FakeKubelet::start(1, None).await;
    let root = cgroup_root();
    let unix = fixture(b"abc");
    // Merge the unix fixture into the cgroup fixture root.
    for f in ["etc/passwd", "etc/group", "proc/4242/status"] {
        std::fs::create_dir_all(root.path().join(f).parent().unwrap()).unwrap();
        std::fs::copy(unix.path().join(f), root.path().join(f)).unwrap();
    }
    std::os::unix::fs::symlink(
        unix.path().join("bin/web"),
        root.path().join("proc/4242/exe"),
    )
    .unwrap();
    let cfg = config(&format!(
        "[workload_attestor.unix]\ndiscover_workload_path = true\n\
         [workload_attestor.k8s]\nkubelet_url = \"{}\"\nmax_poll_attempts = 3\npoll_interval = \"10ms\"\n",
        kubelet.url
    ));
    let attestors = WorkloadAttestors::from_config_at(&cfg, root.path())
        .unwrap()
        .with_start_times(FakeStartTimes::new(&[Some(7), Some(7)]));
    let got = strings(&attestors.attest(CALLER).await.unwrap());
    let mut want: Vec<String> = WEB_SELECTORS.iter().map(|s| (*s).to_owned()).collect();
    want.extend(
        [
            "unix:gid:2002",
            "unix:group:web",
            &format!("unix:path:{}", unix.path().join("bin/web").display()),
            "unix:sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "unix:supplementary_gid:27",
            "unix:supplementary_gid:4",
            "unix:supplementary_gid:999",
            "unix:supplementary_group:adm",
            "unix:supplementary_group:sudo",
            "unix:uid:1001",
            "unix:user:web",
        ]
        .map(str::to_owned),
    );
    assert_eq!(got, want);
    assert_eq!(kubelet.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    // http: the token is never sent.
    assert!(kubelet.auth.lock().unwrap().iter().all(Option::is_none));
}

fn section(extra: &str) -> K8sWorkloadSection {
    config(&format!("[workload_attestor.k8s]\n{extra}"))
        .workload_attestor
        .k8s
        .unwrap()
}

#[test]
fn kubelet_url_choice() {
    let env = |v: &str| (v == "MY_NODE_NAME").then(|| "worker-7".to_owned());
    let no_env = |_: &str| None;
    let dir = tempfile::tempdir().unwrap();
    let (_, ca) = kubelet_tls();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    let ca = format!("kubelet_ca_path = {:?}\n", ca_path.display().to_string());
    let shown = |s: &K8sWorkloadSection, env: &dyn Fn(&str) -> Option<String>| {
        format!("{:?}", kubelet_client(s, env).unwrap())
    };
    assert!(shown(&section(&ca), &env).contains("https://worker-7:10250/pods"));
    assert!(shown(&section(&ca), &no_env).contains("https://127.0.0.1:10250/pods"));
    let s = section(&format!(
        "{ca}node_name = \"n1\"\nkubelet_secure_port = 11250"
    ));
    assert!(shown(&s, &env).contains("https://n1:11250/pods"));
    let s = section("kubelet_read_only_port = 10255");
    let c = shown(&s, &env);
    assert!(
        c.contains("http://127.0.0.1:10255/pods") && c.contains("tls: false"),
        "{c}"
    );
    let s = section("skip_kubelet_verification = true\nnode_name_env = \"OTHER\"");
    assert!(shown(&s, &env).contains("https://127.0.0.1:10250/pods"));
    // No CA file at the default path (or a bad one) is a configuration error.
    let s = section("kubelet_ca_path = \"/nonexistent/ca.crt\"");
    assert!(
        kubelet_client(&s, &env)
            .unwrap_err()
            .contains("kubelet_ca_path")
    );
    std::fs::write(&ca_path, "not pem").unwrap();
    assert!(kubelet_client(&section(&ca), &env).is_err());
}

#[tokio::test]
async fn https_kubelet_with_ca_and_bearer_token() {
    let (server_tls, ca_pem) = kubelet_tls();
    let kubelet = FakeKubelet::start(0, Some(server_tls)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).unwrap();
    let token_path = dir.path().join("token");
    std::fs::write(&token_path, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
    let s = section(&format!(
        "kubelet_url = \"{}\"\nkubelet_ca_path = {:?}\ntoken_path = {:?}\n",
        kubelet.url,
        ca_path.display().to_string(),
        token_path.display().to_string()
    ));
    let client = kubelet_client(&s, &|_| None).unwrap();
    assert!(!format!("{client:?}").contains("eyJ"));
    assert_eq!(client.pods().await.unwrap().items.len(), 2);
    assert_eq!(
        kubelet.auth.lock().unwrap().as_slice(),
        [Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln".to_owned())]
    );

    // Skipping verification also works; a different CA does not.
    let s = section(&format!(
        "kubelet_url = \"{}\"\nskip_kubelet_verification = true\ntoken_path = {:?}\n",
        kubelet.url,
        token_path.display().to_string()
    ));
    assert!(kubelet_client(&s, &|_| None).unwrap().pods().await.is_ok());
    let (_, other_ca) = kubelet_tls();
    std::fs::write(&ca_path, other_ca).unwrap();
    let s = section(&format!(
        "kubelet_url = \"{}\"\nkubelet_ca_path = {:?}\ntoken_path = {:?}\n",
        kubelet.url,
        ca_path.display().to_string(),
        token_path.display().to_string()
    ));
    let err = kubelet_client(&s, &|_| None)
        .unwrap()
        .pods()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            crate::attestor::workload::KubeletError::Transport { .. }
        ),
        "{err}"
    );
    // A missing token file is reported without contacting anyone.
    std::fs::remove_file(&token_path).unwrap();
    let s = section(&format!(
        "kubelet_url = \"{}\"\nskip_kubelet_verification = true\ntoken_path = {:?}\n",
        kubelet.url,
        token_path.display().to_string()
    ));
    let err = kubelet_client(&s, &|_| None)
        .unwrap()
        .pods()
        .await
        .unwrap_err();
    assert!(
        matches!(err, crate::attestor::workload::KubeletError::Token { .. }),
        "{err}"
    );
}
