//! Push (issue 13): the agent's periodic sync is an hour away, so only a pushed signal can
//! bring changes to a Workload API stream that is already open — an entry created with the
//! admin CLI, its deletion, a new X.509 authority in the bundle; on PostgreSQL, a write
//! through another replica, and after the replica's listener connection was killed. A
//! server with push disabled still delivers, by polling. No timing assertions: how fast is
//! the `push` bench's question; the waits here are generous.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_tests::{AgentProcess, ServerProcess, TestDatabase};

use super::{agent_config, join_token, write_bundle};
use crate::workload::my_uid;

/// How long a pushed change may take before the test gives up (a poll would take an hour).
const WAIT: Duration = Duration::from_secs(30);
const BASE: &str = "spiffe://example.org/push/base";

/// What one message of the workload's X.509 stream held.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    ids: BTreeSet<String>,
    authorities: usize,
}

/// A Workload API client (the Rust `spiffe` crate) with a `FetchX509SVID` stream open,
/// recording every message.
struct Workload {
    seen: Arc<Mutex<Vec<Seen>>>,
    _rt: tokio::runtime::Runtime,
}

impl Workload {
    fn open(socket: &Path) -> Self {
        use tokio_stream::StreamExt as _;
        let rt = tokio::runtime::Runtime::new().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let endpoint = format!("unix://{}", socket.display());
        let mut stream = rt.block_on(async {
            let client = spiffe::WorkloadApiClient::connect_to(&endpoint)
                .await
                .unwrap();
            client.stream_x509_contexts().await.unwrap()
        });
        let record = seen.clone();
        rt.spawn(async move {
            let td = spiffe::TrustDomain::new("example.org").unwrap();
            while let Some(Ok(ctx)) = stream.next().await {
                let ids = ctx
                    .svids()
                    .iter()
                    .map(|s| s.spiffe_id().to_string())
                    .collect();
                let authorities = ctx
                    .bundle_set()
                    .get(&td)
                    .map_or(0, |b| b.authorities().len());
                record.lock().unwrap().push(Seen { ids, authorities });
            }
        });
        let workload = Self { seen, _rt: rt };
        workload.wait_for("the first message", |s| s.ids.contains(BASE));
        workload
    }

    fn latest(&self) -> Option<Seen> {
        self.seen.lock().unwrap().last().cloned()
    }

    /// Waits until the latest message satisfies `ok`; returns it.
    fn wait_for(&self, what: &str, ok: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(latest) = self.latest().filter(|s| ok(s)) {
                return latest;
            }
            assert!(
                Instant::now() < deadline,
                "the open stream never showed {what}: {:?}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An agent of `server` (at `address`) that syncs every `sync_interval`, with an entry
/// for this test process's uid created before it starts (a stream needs an identity to
/// open); waits until it holds that entry's SVID. Returns the agent, its ID and socket.
pub(crate) fn agent_with_base(
    dir: &Path,
    server: &ServerProcess,
    address: &str,
    sync_interval: &str,
) -> (AgentProcess, String, std::path::PathBuf) {
    let bundle = dir.join("bundle.pem");
    write_bundle(server, &bundle);
    let token = join_token(server);
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    create(server, &agent_id, BASE);
    let socket = dir.join("agent/api.sock");
    let config = format!(
        "{}socket_path = \"{}\"\n",
        agent_config(address, &bundle, &token).replace(
            "sync_interval = \"500ms\"",
            &format!("sync_interval = \"{sync_interval}\"")
        ),
        socket.display()
    );
    let mut agent = AgentProcess::spawn(&dir.join("agent"), &config);
    agent.wait_for_log(&format!("issued X509-SVID for {BASE}"), WAIT);
    (agent, agent_id, socket)
}

/// `entry create` under `parent` for this process's uid; returns the entry ID.
pub(crate) fn create(server: &ServerProcess, parent: &str, spiffe_id: &str) -> String {
    let out = server.ok(&[
        "entry",
        "create",
        "--parent-id",
        parent,
        "--spiffe-id",
        spiffe_id,
        "--selector",
        &format!("unix:uid:{}", my_uid()),
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["entries"][0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn entries_and_bundles_are_pushed_to_an_open_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = super::server(dir.path(), "");
    let (agent, agent_id, socket) = agent_with_base(dir.path(), &server, &address, "1h");
    let workload = Workload::open(&socket);
    let before = workload.latest().unwrap();

    // A new entry for this workload.
    let pushed = "spiffe://example.org/push/new";
    let id = create(&server, &agent_id, pushed);
    workload.wait_for("the new entry's SVID", |s| s.ids.contains(pushed));

    // An entry for another agent is not this agent's business (and changes nothing here).
    create(
        &server,
        "spiffe://example.org/tessera/agent/join_token/someone-else",
        "spiffe://example.org/push/elsewhere",
    );

    // Deleted: the SVID leaves the stream.
    server.ok(&["entry", "delete", "--entry-id", &id]);
    let after = workload.wait_for("the deleted entry gone", |s| !s.ids.contains(pushed));
    assert!(after.ids.contains(BASE), "{after:?}");
    assert!(
        !workload
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.ids.contains("spiffe://example.org/push/elsewhere")),
    );

    // A new X.509 authority is published in the bundle: the stream carries it.
    server.ok(&["authority", "x509", "prepare"]);
    workload.wait_for("the prepared authority in the bundle", |s| {
        s.authorities > before.authorities
    });
    let log = agent.log();
    assert!(
        !log.contains("does not push"),
        "the agent found no push stream:\n{log}"
    );
}

#[test]
fn a_server_with_push_disabled_still_delivers_by_polling() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = super::server(dir.path(), "[agent_api]\npush = false\n");
    let (mut agent, agent_id, socket) = agent_with_base(dir.path(), &server, &address, "500ms");
    let workload = Workload::open(&socket);
    let polled = "spiffe://example.org/push/polled";
    create(&server, &agent_id, polled);
    workload.wait_for("the polled entry's SVID", |s| s.ids.contains(polled));
    agent.wait_for_log("the server does not push changes", WAIT);
}

/// Two replicas on PostgreSQL: the agent is connected to B only; entries are written
/// through A. Then B's listener connection is killed (`pg_terminate_backend`): B reconnects
/// and announces "everything may have changed", so an entry written meanwhile still
/// arrives without waiting for the hourly sync.
#[test]
fn a_write_through_one_replica_is_pushed_by_the_other_even_after_its_listener_dies() {
    let db = TestDatabase::create();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (b, address_b) = crate::ha::replica_with(dir_b.path(), "rb", "", &db.server_config());
    let a = crate::ha::replica(dir_a.path(), "ra", &db);
    let (_agent, agent_id, socket) = agent_with_base(dir_b.path(), &b, &address_b, "1h");
    let workload = Workload::open(&socket);

    let through_a = "spiffe://example.org/push/through-a";
    create(&a, &agent_id, through_a);
    workload.wait_for("the entry written through A", |s| s.ids.contains(through_a));

    let killed = db.query_texts(
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    );
    assert!(
        killed.len() >= 2 && killed.iter().all(|k| k == "true"),
        "one listener per replica: {killed:?}"
    );
    let after_kill = "spiffe://example.org/push/after-kill";
    create(&a, &agent_id, after_kill);
    workload.wait_for("the entry written after the listener died", |s| {
        s.ids.contains(after_kill)
    });
    let deadline = Instant::now() + WAIT;
    while !b.log().contains("change listener reconnected") {
        assert!(
            Instant::now() < deadline,
            "B's listener never reconnected:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
