//! The agent's probes: 503 `attestation` while no server answers, ready once attested with
//! its entries' SVIDs held, off unless configured; `healthcheck --config` agrees.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tessera_tests::{AgentProcess, bin, free_port};

use super::{LIVE, READY, health_section, listening_ports, not_ready, probe, wait_for};
use crate::agent::{agent_config, join_token, server, write_bundle};

/// `tessera-agent healthcheck --config <dir>/agent.toml`.
fn healthcheck(agent_dir: &Path) -> Output {
    tessera_tests::guard::output(
        std::process::Command::new(bin("tessera-agent"))
            .args(["healthcheck", "--config"])
            .arg(agent_dir.join("agent.toml"))
            .current_dir(agent_dir),
    )
}

#[test]
fn agent_ready_once_attested_with_its_svids() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "");
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    let token = join_token(&server);
    let health = free_port();
    let agent_dir = dir.path().join("agent");
    let config = format!(
        "{}{}",
        agent_config(&address, &bundle, &token),
        health_section(health)
    );
    let mut agent = AgentProcess::spawn(&agent_dir, &config);
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    agent.wait_for_log(&format!("attested as {agent_id}"), Duration::from_secs(30));
    assert_eq!(
        wait_for(health, "/ready", 200, Duration::from_secs(30)),
        READY
    );
    assert_eq!(probe(health, "/live"), (200, LIVE.to_owned()));
    let out = healthcheck(&agent_dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Agent is ready.\n");

    // An entry for this agent: ready again once its SVID is held.
    let web = "spiffe://example.org/health/web";
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        web,
        "--selector",
        "unix:uid:4242",
    ]);
    agent.wait_for_log(
        &format!("issued X509-SVID for {web}"),
        Duration::from_secs(30),
    );
    assert_eq!(probe(health, "/ready"), (200, READY.to_owned()));
}

#[test]
fn agent_without_a_reachable_server_is_live_but_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server(dir.path(), "");
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    // Nothing listens on this port: the agent cannot attest.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let health = free_port();
    let agent_dir = dir.path().join("agent");
    let config = format!(
        "{}{}",
        agent_config(&nowhere, &bundle, "never-used"),
        health_section(health)
    );
    let mut agent = AgentProcess::spawn(&agent_dir, &config);
    assert_eq!(
        wait_for(health, "/live", 200, Duration::from_secs(30)),
        LIVE
    );
    agent.wait_for_log("sync failed", Duration::from_secs(30));
    assert_eq!(probe(health, "/ready"), (503, not_ready(&["attestation"])));
    let out = healthcheck(&agent_dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: agent is not ready: attestation\n"
    );
}

#[test]
fn agent_health_port_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "");
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    let token = join_token(&server);
    let agent_dir = dir.path().join("agent");
    let mut agent = AgentProcess::spawn(&agent_dir, &agent_config(&address, &bundle, &token));
    agent.wait_for_log("attested as", Duration::from_secs(30));
    // The Workload API is a Unix socket: without `[health]` and `[metrics]` the agent
    // listens on no TCP port at all (no probe port, no metrics port).
    assert_eq!(listening_ports(agent.pid().unwrap()), Default::default());
    // `healthcheck --config` without `[health]` asks the config's Workload API socket
    // (`Unavailable` until the first sync completes).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = healthcheck(&agent_dir);
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Agent is healthy.\n");
}
