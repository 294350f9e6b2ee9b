//! Workload API security: other uids get nothing of ours, the header is required, no
//! identity is PermissionDenied (not an empty success), a flood of idle connections does
//! not stall other workloads.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::{Node, OTHER_UID, my_uid};

#[test]
fn another_uid_gets_none_of_our_svids_and_no_identity_is_permission_denied() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/mine", my_uid(), &[]);

    let theirs = node.agent_cli(OTHER_UID, &["api", "fetch", "x509"]);
    assert!(!theirs.status.success());
    let err = String::from_utf8_lossy(&theirs.stderr);
    assert!(err.contains("PermissionDenied"), "{err}");
    assert!(!String::from_utf8_lossy(&theirs.stdout).contains("spiffe://example.org/mine"));
    let jwt = node.agent_cli(OTHER_UID, &["api", "fetch", "jwt", "--audience", "a"]);
    assert!(!jwt.status.success());

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
    assert!(!other.status.success());
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
    // 200 connections that never speak, and 20 clients that open a stream and never read.
    let idle: Vec<UnixStream> = (0..200)
        .map(|_| UnixStream::connect(&node.socket).unwrap())
        .collect();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "{} api watch --write {} --socket {} --exec 'sleep 3600'",
                    tessera_tests::bin("tessera-agent").display(),
                    dir.path().join("stalled").display(),
                    node.socket.display()
                ))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let out = node.agent_cli(my_uid(), &["api", "fetch", "x509"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a fetch took {:?}",
        started.elapsed()
    );
    for mut s in stalled {
        let _ = s.kill();
        let _ = s.wait();
    }
    drop(idle);
}
