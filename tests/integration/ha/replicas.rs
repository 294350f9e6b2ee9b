//! Servers on PostgreSQL: an entry created with the CLI reaches a workload through a real
//! agent, and two replicas (different `server_id`) on one database serve one bundle.

use std::time::{Duration, Instant};

use tessera_tests::TestDatabase;

use super::{one_bundle, replica};

use crate::workload::{Node, my_uid};

#[test]
fn an_entry_created_on_postgres_reaches_the_agents_workload() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let password = "pg-Passw0rd-in-the-uri";
    let mut node = Node::start_with(dir.path(), &db.server_config_with_password(password));
    let uid = my_uid();
    node.register("spiffe://example.org/ha/web", uid, &[]);
    let out = node.agent_cli(uid, &["api", "fetch", "x509"]);
    let fetched = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && fetched.contains("spiffe://example.org/ha/web"),
        "{fetched}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The state is in PostgreSQL, not in a sled store beside the server.
    assert_eq!(
        db.query_texts("SELECT spiffe_id FROM entries"),
        ["spiffe://example.org/ha/web"]
    );
    assert_eq!(
        db.query_texts("SELECT spiffe_id FROM agents"),
        [node.agent_id.as_str()]
    );
    assert!(!dir.path().join(".tessera/server/datastore").exists());
    let log = node.server.log();
    assert!(log.contains("PostgreSQL datastore ready"), "{log}");
    assert!(!log.contains(password), "the password reached the log");
}

#[test]
fn two_replicas_on_one_database_serve_the_union_of_their_cas() {
    let db = TestDatabase::create();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let r1 = replica(d1.path(), "r1", &db);
    let r2 = replica(d2.path(), "r2", &db);
    assert_eq!(
        db.query_texts("SELECT server_id FROM ca_journals ORDER BY server_id"),
        ["r1", "r2"]
    );
    // r2 published after r1 started: r1 sees r2's CA at its next rotation check (≤ 10 s).
    assert_eq!(one_bundle(&[&r1, &r2]).len(), 2);
}

/// Issue 10 §5: an entry created through replica A reaches an agent connected only to
/// replica B at B's agent's next sync (no per-replica entry cache: B reads the database
/// for every sync; the bound is the agent's `sync_interval`, 5 s by default).
#[test]
fn an_entry_created_through_one_replica_reaches_an_agent_on_the_other() {
    let db = TestDatabase::create();
    let (dir_b, dir_a) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut node = Node::start_with(
        dir_b.path(),
        &format!("server_id = \"rb\"\n{}", db.server_config()),
    );
    let a = replica(dir_a.path(), "ra", &db);
    let started = Instant::now();
    a.ok(&[
        "entry",
        "create",
        "--parent-id",
        &node.agent_id,
        "--spiffe-id",
        "spiffe://example.org/ha/through-a",
        "--selector",
        &format!("unix:uid:{}", my_uid()),
    ]);
    node.agent.wait_for_log(
        "issued X509-SVID for spiffe://example.org/ha/through-a",
        Duration::from_secs(30),
    );
    println!(
        "the entry reached the agent on the other replica after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let out = node.agent_cli(my_uid(), &["api", "fetch", "x509"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("spiffe://example.org/ha/through-a"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
