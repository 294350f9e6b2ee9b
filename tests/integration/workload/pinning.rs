//! The Workload API pins its caller at accept: a process that connects, hands the
//! connection to a child and exits is refused from then on, also when its PID has been
//! reused by another process of the same uid (which would otherwise be attested instead).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use tessera_proto::wire::workload::X509svidRequest;
use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
use tessera_tests::guard::{self, Spawned};
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

/// Starts a process (`sleep`) with PID `pid` by setting `ns_last_pid` (root only). `None`
/// when another process or thread of the machine took the PID first (the caller starts over
/// with a fresh PID).
fn spawn_with_pid(pid: u32) -> Option<Spawned> {
    for _ in 0..200 {
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return None; // someone else holds it (a thread counts)
        }
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
        let mut child = guard::spawn(Command::new("sleep").arg("60"));
        if child.id() == pid {
            return Some(child);
        }
        child.kill();
    }
    None
}

#[test]
fn a_connection_handed_to_a_child_is_refused_once_the_connecting_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/me", my_uid(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // On a busy machine another process or thread may grab the freed PID before us: then the
    // whole hand-off starts over with a new connecting process (never a silent pass).
    for _ in 0..20 {
        if hand_off_then_reuse_the_pid(&node, &rt) {
            return;
        }
    }
    panic!("could not get a freed PID reused in 20 attempts");
}

/// One hand-off: refused once the connecting process exited, and still refused when another
/// process of the same uid has its PID. `false` when the PID could not be reused.
fn hand_off_then_reuse_the_pid(node: &Node, rt: &tokio::runtime::Runtime) -> bool {
    // Under `sh` (which reaps it), in a process group led by `sh`: the relaying child ends
    // with the test too, and the connecting process's PID is nobody's group ID, so it can be
    // reused once that process is gone.
    let mut parent = guard::spawn(
        Command::new("sh")
            .arg("-c")
            .arg("python3 -c \"$0\" \"$1\"; exit $?")
            .arg(HANDOFF)
            .arg(&node.socket)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut line = String::new();
    BufReader::new(parent.stdout().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut fields = line.split_whitespace();
    let port: u16 = fields.next().unwrap().parse().unwrap();
    let pid: u32 = fields.next().unwrap().parse().unwrap();
    let ppid = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid = ppid
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_eq!(
        ppid,
        parent.id().to_string(),
        "the connecting process is sh's child"
    );

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

    // The connecting process exits (and is reaped by sh, which exits then); its child keeps
    // the connection.
    parent.stdin().unwrap().write_all(b"go\n").unwrap();
    let exited = parent.wait_timeout(Duration::from_secs(30));
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    let err = rt
        .block_on(async { client.fetch_x509svid(request()).await })
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(err.message(), "workload attestation failed");

    // Another process of the same uid now has the PID: still refused, not attested as it.
    let Some(mut victim) = spawn_with_pid(pid) else {
        return false;
    };
    let result = rt.block_on(async { client.fetch_x509svid(request()).await });
    victim.kill();
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(err.message(), "workload attestation failed");
    true
}
