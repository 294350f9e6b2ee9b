//! `token generate` and `agent list|show|ban|evict` against a real server.

use tessera_tests::ServerProcess;

use super::config;

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

#[test]
fn token_generate_prints_a_fresh_token_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());

    let human = server.ok(&["token", "generate"]);
    let token = human
        .trim_end()
        .strip_prefix("Token: ")
        .unwrap_or_else(|| panic!("{human:?}"));
    assert_eq!(token.len(), 32, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");

    let before = unix_now();
    let out = server.ok(&[
        "token",
        "generate",
        "--spiffe-id",
        "spiffe://example.org/tessera/agent/web-1",
        "--ttl",
        "1h",
        "--output",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let other = json["token"].as_str().unwrap();
    assert_eq!(other.len(), 32);
    assert_ne!(other, token, "every token is new");
    let expires_at = json["expires_at"].as_i64().unwrap();
    assert!(
        (before + 3600..=unix_now() + 3600).contains(&expires_at),
        "{expires_at} vs {before}"
    );

    let out = server.ok(&["token", "generate", "--ttl", "90", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let expires_at = json["expires_at"].as_i64().unwrap();
    assert!((before + 90..=unix_now() + 90).contains(&expires_at));

    let log = server.log();
    assert!(!log.contains(token) && !log.contains(other), "{log}");
}

#[test]
fn token_generate_refuses_a_foreign_spiffe_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    let out = server.cli(&[
        "token",
        "generate",
        "--spiffe-id",
        "spiffe://other.org/node",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InvalidArgument"), "{err}");
}

#[test]
fn token_generate_refuses_reserved_and_non_agent_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    for id in [
        "spiffe://example.org/tessera/server",
        "spiffe://example.org/node/web-1",
        "spiffe://example.org/tessera/agentx",
    ] {
        let out = server.cli(&["token", "generate", "--spiffe-id", id]);
        assert_eq!(out.status.code(), Some(1), "{id}");
        assert!(out.stdout.is_empty(), "{id}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "server refused: agent ID {id} must be under \
                 spiffe://example.org/tessera/agent/ (the agent IDs; other IDs, such as the \
                 server's own, are reserved) (InvalidArgument)"
            )),
            "{id}: {err}"
        );
    }
    // The ID of an admin entry (an admin on the mTLS admin API) is reserved too.
    let admin = "spiffe://example.org/tessera/agent/ops";
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/tessera/server",
        "--spiffe-id",
        admin,
        "--selector",
        "unix:uid:0",
        "--admin",
    ]);
    let out = server.cli(&["token", "generate", "--spiffe-id", admin]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "server refused: agent ID {admin} is the SPIFFE ID of an admin entry and is \
             reserved (InvalidArgument)"
        )),
        "{err}"
    );
    server.ok(&[
        "token",
        "generate",
        "--spiffe-id",
        "spiffe://example.org/tessera/agent/web-2",
    ]);
}

#[test]
fn agents_on_an_empty_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());

    let json: serde_json::Value =
        serde_json::from_str(&server.ok(&["agent", "list", "--output", "json"])).unwrap();
    assert_eq!(json, serde_json::json!({"agents": []}));
    assert!(
        server
            .ok(&["agent", "list"])
            .contains("Found 0 attested agents")
    );

    for verb in ["show", "ban", "evict"] {
        let out = server.cli(&[
            "agent",
            verb,
            "--spiffe-id",
            "spiffe://example.org/tessera/agent/join_token/nope",
        ]);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        assert!(out.stdout.is_empty(), "{verb}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("NotFound"), "{verb}: {err}");
    }
    let out = server.cli(&["agent", "show", "--spiffe-id", "not-a-spiffe-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidArgument"));
}
