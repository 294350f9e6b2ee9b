//! A join-token agent: attests, syncs entries created with the CLI, survives a server
//! restart, is refused once banned; a replayed token is refused.

use std::time::Duration;

use tessera_tests::AgentProcess;

use super::{agent_config, agents_json, join_token, server, write_bundle};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_join_token_agent_attests_syncs_survives_restart_and_is_banned() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = server(dir.path(), "");
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    let token = join_token(&server);
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");

    let mut agent = AgentProcess::spawn(
        &dir.path().join("agent"),
        &agent_config(&address, &bundle, &token),
    );
    agent.wait_for_log(&format!("attested as {agent_id}"), WAIT);
    let listed = agents_json(&server);
    assert_eq!(listed["agents"][0]["spiffe_id"], agent_id.as_str());
    assert!(
        !agent.log().contains(&format!("token {token}")),
        "the token must not be logged as such"
    );

    // An entry created with the CLI reaches the agent within a sync, with an SVID.
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        "spiffe://example.org/web",
        "--selector",
        "unix:uid:1000",
    ]);
    agent.wait_for_log("issued X509-SVID for spiffe://example.org/web", WAIT);

    // The server restarts; the agent keeps working and picks up new entries.
    assert!(server.stop());
    std::thread::sleep(Duration::from_secs(1));
    let server = tessera_tests::ServerProcess::start_with(dir.path(), &server.config);
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        "spiffe://example.org/db",
        "--selector",
        "unix:uid:1001",
    ]);
    agent.wait_for_log("issued X509-SVID for spiffe://example.org/db", WAIT);

    // Banned: the next call is refused.
    server.ok(&["agent", "ban", "--spiffe-id", &agent_id]);
    agent.wait_for_log("banned", WAIT);
    let shown: serde_json::Value = serde_json::from_str(&server.ok(&[
        "agent",
        "show",
        "--spiffe-id",
        &agent_id,
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(shown["banned"], true);
}

#[test]
fn a_replayed_join_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "");
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    let token = join_token(&server);
    let mut first = AgentProcess::spawn(
        &dir.path().join("a1"),
        &agent_config(&address, &bundle, &token),
    );
    first.wait_for_log("attested as", WAIT);
    let mut second = AgentProcess::spawn(
        &dir.path().join("a2"),
        &agent_config(&address, &bundle, &token),
    );
    let code = second.wait_exit(WAIT);
    assert_ne!(code, Some(0), "{}", second.log());
    assert!(
        second.log().contains("PermissionDenied") || second.log().contains("refused"),
        "{}",
        second.log()
    );
    assert_eq!(agents_json(&server)["agents"].as_array().unwrap().len(), 1);
}
