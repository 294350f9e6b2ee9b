//! A PostgreSQL outage: the test's own cluster is stopped under a running server and agent.
//! What needs the database answers `Unavailable` (admin gRPC) or 503 (OAuth); the agent keeps
//! serving the SVID it holds; once PostgreSQL is back on the same port the server recovers
//! by itself, without a restart.

use std::time::{Duration, Instant};

use tessera_tests::PrivateCluster;
use tessera_tests::http::post_form;

use crate::workload::{Node, my_uid};

/// What the admin CLI prints when the server's datastore is down (gRPC `Unavailable`).
const UNAVAILABLE: &str =
    "error: server refused: the datastore is unavailable; retry (Unavailable)\n";

#[test]
fn a_database_outage_is_unavailable_and_the_server_recovers_by_itself() {
    let mut cluster = PrivateCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let oauth_port = tessera_tests::free_port();
    let issuer = format!("http://127.0.0.1:{oauth_port}");
    let extra = format!(
        "[oauth]\nbind_address = \"127.0.0.1:{oauth_port}\"\nissuer = \"{issuer}\"\n{}",
        cluster.server_config()
    );
    let mut node = Node::start_with(dir.path(), &extra);
    let uid = my_uid();
    node.register("spiffe://example.org/ha/outage/web", uid, &[]);
    // `api fetch x509 --write`: the SVIDs the workload gets, as written files (PEM).
    let fetch = |node: &Node, name: &str| {
        let out_dir = dir.path().join(name);
        let out = node.agent_cli(
            uid,
            &["api", "fetch", "x509", "--write", out_dir.to_str().unwrap()],
        );
        assert!(
            out.status.success(),
            "api fetch x509 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut svids: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pem"))
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("svid"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        svids.sort();
        svids
    };
    let before = fetch(&node, "before");
    assert_eq!(before.len(), 1);
    let client = node.server.ok(&[
        "client",
        "create",
        "--client-id",
        "outage-svc",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--output",
        "json",
    ]);
    let client: serde_json::Value = serde_json::from_str(&client).unwrap();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let token = || {
        post_form(
            &issuer,
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "outage-svc"),
                ("client_secret", &secret),
                ("scope", "read"),
            ],
        )
    };
    let (status, body) = token();
    assert_eq!(status, 200, "{body}");
    // The replica may use the client it read for `[datastore] client_cache_ttl` (1 s by
    // default) without the database; from then on it needs the database.
    let cached_until = Instant::now() + Duration::from_millis(1100);
    let show = ["entry", "show", "--output", "json"];
    node.server.ok(&show);

    cluster.stop_fast();

    // The admin API: gRPC Unavailable, with a clear message and a non-zero exit.
    let out = node.server.cli(&show);
    assert_eq!(String::from_utf8_lossy(&out.stderr), UNAVAILABLE);
    assert_eq!(out.status.code(), Some(1));
    // OAuth: 503 with an RFC 6749 error (once the client is no longer cached).
    std::thread::sleep(cached_until.saturating_duration_since(Instant::now()));
    let (status, body) = token();
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"error": "server_error", "error_description": "temporarily unavailable"})
    );
    // The agent API answers the agent's sync the same way (gRPC Unavailable) …
    node.agent.wait_for_log(
        "server unavailable: Unavailable: the datastore is unavailable; retry",
        Duration::from_secs(30),
    );
    // … and the workload still gets the SVID the agent holds.
    assert_eq!(fetch(&node, "during"), before);

    cluster.start_again();

    // The same call succeeds again, answered by the same server process (nothing here
    // restarts it).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = node.server.cli(&show);
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover: {}\n{}\nPostgreSQL: {}",
            String::from_utf8_lossy(&out.stderr),
            node.server.log(),
            cluster.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = token();
    assert_eq!(status, 200, "{body}");
    // And the agent syncs again: a new entry reaches the workload. Its sync backed off while
    // the database was down (doubling from the sync interval, at most a minute).
    let after = "spiffe://example.org/ha/outage/after";
    let selector = format!("unix:uid:{uid}");
    node.server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &node.agent_id,
        "--spiffe-id",
        after,
        "--selector",
        &selector,
    ]);
    node.agent.wait_for_log(
        &format!("issued X509-SVID for {after}"),
        Duration::from_secs(90),
    );
    assert_eq!(fetch(&node, "after").len(), 2);
}
