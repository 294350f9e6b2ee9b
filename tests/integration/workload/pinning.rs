//! The Workload API pins its caller at accept: a process that connects, hands the
//! connection to a child and exits is refused from then on, also when its PID has been
//! reused by another process of the same uid (which would otherwise be attested instead).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tessera_proto::wire::workload::X509svidRequest;
use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
use tonic::Code;
use tonic::transport::Channel;

use super::{Node, my_uid};

/// Connects to the socket (argv[1]), listens on a loopback TCP port, prints "PORT PID",
/// forks: the parent waits for a line on stdin and exits; the child relays one TCP
/// connection to the inherited Unix connection.
const HANDOFF: &str = r#"
import os, select, socket, sys
u = socket.socket(socket.AF_UNIX)
u.connect(sys.argv[1])
t = socket.socket()
t.bind(("127.0.0.1", 0))
t.listen(1)
print(t.getsockname()[1], os.getpid(), flush=True)
if os.fork() > 0:
    sys.stdin.readline()
    os._exit(0)
c, _ = t.accept()
while True:
    r, _, _ = select.select([c, u], [], [])
    for s in r:
        data = s.recv(65536)
        if not data:
            os._exit(0)
        (u if s is c else c).sendall(data)
"#;

fn request() -> tonic::Request<X509svidRequest> {
    let mut r = tonic::Request::new(X509svidRequest {});
    r.metadata_mut()
        .insert("workload.spiffe.io", "true".parse().unwrap());
    r
}

/// Starts a process (`sleep`) with PID `pid` by setting `ns_last_pid` (root only), retrying
/// while other processes on the machine take the PID first.
fn spawn_with_pid(pid: u32) -> Child {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        if child.id() == pid {
            return child;
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(Instant::now() < deadline, "could not get PID {pid} reused");
    }
}

#[test]
fn a_connection_handed_to_a_child_is_refused_once_the_connecting_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/me", my_uid(), &[]);

    let mut parent = Command::new("python3")
        .arg("-c")
        .arg(HANDOFF)
        .arg(&node.socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(parent.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut fields = line.split_whitespace();
    let port: u16 = fields.next().unwrap().parse().unwrap();
    let pid: u32 = fields.next().unwrap().parse().unwrap();
    assert_eq!(pid, parent.id());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client: SpiffeWorkloadApiClient<Channel> = rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        SpiffeWorkloadApiClient::new(channel)
    });
    // While the connecting process lives, the relayed connection is its own.
    let first = rt
        .block_on(async { client.fetch_x509svid(request()).await })
        .unwrap();
    drop(first);

    // The connecting process exits (and is reaped); its child keeps the connection.
    parent.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(parent.wait().unwrap().success());
    let err = rt
        .block_on(async { client.fetch_x509svid(request()).await })
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(err.message(), "workload attestation failed");

    // Another process of the same uid now has the PID: still refused, not attested as it.
    let mut victim = spawn_with_pid(pid);
    let result = rt.block_on(async { client.fetch_x509svid(request()).await });
    let _ = victim.kill();
    let _ = victim.wait();
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(err.message(), "workload attestation failed");
}
