//! The server's probes: ready once up, 503 `datastore` while its PostgreSQL is stopped (and
//! ready again once it is back), off unless configured; `healthcheck` agrees.

use std::collections::BTreeSet;
use std::time::Duration;

use tessera_tests::{PrivateCluster, ServerProcess, free_port};

use super::{LIVE, READY, health_section, listening_ports, not_ready, probe, wait_for};

#[test]
fn server_live_and_ready_once_up_and_healthcheck_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let health = free_port();
    let config = format!("{}{}", crate::server::config(), health_section(health));
    // `start` returns once `healthcheck` (the admin Health.Check) says ready.
    let server = ServerProcess::start(dir.path(), &config);
    assert_eq!(probe(health, "/live"), (200, LIVE.to_owned()));
    assert_eq!(probe(health, "/ready"), (200, READY.to_owned()));
    let out = server.cli(&["healthcheck"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Server is healthy (trust domain example.org).\n"
    );
    assert_eq!(probe(health, "/metrics").0, 404);
}

#[test]
fn server_health_port_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = ServerProcess::start(dir.path(), &crate::server::config_at(port));
    // The only TCP listener is the agent API: no probe port anywhere.
    assert_eq!(
        listening_ports(server.pid().unwrap()),
        BTreeSet::from([port])
    );
}

#[test]
fn a_stopped_database_makes_the_server_not_ready_until_it_is_back() {
    let mut cluster = PrivateCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let health = free_port();
    let config = format!(
        "{}{}{}",
        crate::server::config(),
        health_section(health),
        cluster.server_config()
    );
    let server = ServerProcess::start(dir.path(), &config);
    assert_eq!(probe(health, "/ready"), (200, READY.to_owned()));

    cluster.stop_fast();

    let body = wait_for(health, "/ready", 503, Duration::from_secs(20));
    assert_eq!(body, not_ready(&["datastore"]));
    // Still live: the event loop answers; restarting it would not bring the database back.
    assert_eq!(probe(health, "/live"), (200, LIVE.to_owned()));
    // The CLI asks the same readiness over the admin socket.
    let out = server.cli(&["healthcheck"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: server is not ready: datastore\n"
    );

    cluster.start_again();

    assert_eq!(
        wait_for(health, "/ready", 200, Duration::from_secs(60)),
        READY
    );
    assert!(server.cli(&["healthcheck"]).status.success());
}
