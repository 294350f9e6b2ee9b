//! Workload API security: other uids get nothing of ours, the header is required, no
//! identity is PermissionDenied (not an empty success), a flood of idle connections does
//! not stall other workloads.

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tessera_tests::{bin, guard};

use super::{Node, OTHER_UID, WAIT, my_uid};

#[test]
fn another_uid_gets_none_of_our_svids_and_no_identity_is_permission_denied() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/mine", my_uid(), &[]);

    let theirs = node.agent_cli(OTHER_UID, &["api", "fetch", "x509"]);
    assert_refused(&theirs, "no identity issued (PermissionDenied)");
    assert!(!String::from_utf8_lossy(&theirs.stdout).contains("spiffe://example.org/mine"));
    let jwt = node.agent_cli(OTHER_UID, &["api", "fetch", "jwt", "--audience", "a"]);
    assert_refused(&jwt, "no identity issued (PermissionDenied)");

    node.register("spiffe://example.org/theirs", OTHER_UID, &[]);
    let theirs = node.agent_cli(OTHER_UID, &["api", "fetch", "x509"]);
    let out = String::from_utf8_lossy(&theirs.stdout);
    assert!(
        out.contains("spiffe://example.org/theirs") && !out.contains("spiffe://example.org/mine"),
        "{out}"
    );
    // Asking for someone else's JWT-SVID by SPIFFE ID is refused.
    let other = node.agent_cli(
        OTHER_UID,
        &[
            "api",
            "fetch",
            "jwt",
            "--audience",
            "a",
            "--spiffe-id",
            "spiffe://example.org/mine",
        ],
    );
    assert_refused(
        &other,
        "no identity issued for the requested SPIFFE ID (PermissionDenied)",
    );
}

/// The CLI failed with exactly the agent's refusal `what` (message and gRPC code).
fn assert_refused(out: &std::process::Output, what: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("the agent refused: {what}")),
        "expected {what:?}, got: {err}"
    );
}

#[test]
fn the_security_header_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/me", my_uid(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use tessera_proto::wire::workload::X509svidRequest;
        use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
        let path = node.socket.clone();
        let channel = tonic::transport::Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_| {
                let path = path.clone();
                async move {
                    tokio::net::UnixStream::connect(path)
                        .await
                        .map(hyper_util::rt::TokioIo::new)
                }
            }))
            .await
            .unwrap();
        let mut client = SpiffeWorkloadApiClient::new(channel);
        let err = client.fetch_x509svid(X509svidRequest {}).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    });
}

#[test]
fn idle_connections_and_unread_streams_do_not_stall_other_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/me", my_uid(), &[]);
    let agent = node.agent.pid().unwrap();
    let before = open_sockets(agent);
    // 200 connections that never speak, and 20 clients that open a stream, take the first
    // message and then never read again (their --exec blocks).
    let idle: Vec<UnixStream> = (0..200)
        .map(|_| UnixStream::connect(&node.socket).unwrap())
        .collect();
    let markers: Vec<_> = (0..20)
        .map(|i| dir.path().join(format!("stalled-{i}.ready")))
        .collect();
    let stalled: Vec<_> = markers
        .iter()
        .enumerate()
        .map(|(i, marker)| {
            guard::spawn(
                Command::new(bin("tessera-agent"))
                    .args(["api", "watch", "--write"])
                    .arg(dir.path().join(format!("stalled-{i}")))
                    .arg("--socket")
                    .arg(&node.socket)
                    .arg("--exec")
                    .arg(format!("touch {} && sleep 3600", marker.display()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
        })
        .collect();
    // The flood is in place: the agent holds every connection, and every stalled client has
    // its stream open (it got the first message and is now blocked in its --exec).
    wait_until(
        || open_sockets(agent) >= before + 220,
        || {
            format!(
                "the agent holds {} new sockets",
                open_sockets(agent) - before
            )
        },
    );
    wait_until(
        || markers.iter().all(|m| m.exists()),
        || "not every stalled client got its first message".into(),
    );

    let started = Instant::now();
    let out = node.agent_cli(my_uid(), &["api", "fetch", "x509"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < WAIT,
        "a fetch took {:?} behind the flood",
        started.elapsed()
    );
    drop(stalled);
    drop(idle);
}

/// How many sockets the process `pid` has open.
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Polls `done` until it holds; fails with `why()` after [`WAIT`].
fn wait_until(done: impl Fn() -> bool, why: impl Fn() -> String) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "{}", why());
        std::thread::sleep(Duration::from_millis(50));
    }
}
