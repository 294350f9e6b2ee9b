//! API keys with an admin scope on the admin API, through the real binary: the key's
//! role replaces the socket peer's (root here, otherwise `admin`), `whoami` names the key,
//! a key of another tenant is limited to it, and keys without an admin scope, revoked or
//! malformed are refused with their exact error.

use std::process::Output;

use tessera_tests::{ServerProcess, bin};

use super::{client, create_key, server};

/// `args` on `server`'s socket as `key` (`TESSERA_API_KEY`).
fn as_key(server: &ServerProcess, key: &str, args: &[&str]) -> Output {
    let socket = server.socket.to_str().unwrap();
    std::process::Command::new(bin("tessera-server"))
        .args(args)
        .args(["--socket", socket])
        .env("TESSERA_API_KEY", key)
        .output()
        .unwrap()
}

fn ok(server: &ServerProcess, key: &str, args: &[&str]) -> String {
    let out = as_key(server, key, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `args` as `key` fails with exactly `error` on stderr (after `error: `).
fn refused(server: &ServerProcess, key: &str, args: &[&str], error: &str) {
    let out = as_key(server, key, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.trim(), format!("error: {error}"), "{args:?}");
}

#[test]
fn an_admin_scoped_key_acts_in_its_role_on_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server(dir.path(), "");
    client(
        &server,
        "default",
        "ci",
        &["--scope", "read", "--scope", "admin:auditor"],
    );
    let (auditor_id, auditor) = create_key(
        &server,
        &[
            "--client",
            "ci",
            "--name",
            "audit",
            "--scope",
            "admin:auditor",
        ],
    );
    let (plain_id, plain) = create_key(
        &server,
        &["--client", "ci", "--name", "plain", "--scope", "read"],
    );
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/node",
        "--spiffe-id",
        "spiffe://example.org/before",
        "--selector",
        "unix:uid:1000",
    ]);

    // The socket peer (root) is admin; the key's role decides.
    let me = ok(&server, &auditor, &["whoami", "--output", "json"]);
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["principal"], format!("API key {auditor_id}"));
    assert_eq!(me["role"], "auditor");
    assert!(me["tenant"].is_null(), "{me}");
    let listed = ok(&server, &auditor, &["entry", "show"]);
    assert!(listed.contains("spiffe://example.org/before"), "{listed}");
    let create = [
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/node",
        "--spiffe-id",
        "spiffe://example.org/after",
        "--selector",
        "unix:uid:1001",
    ];
    refused(
        &server,
        &auditor,
        &create,
        &format!(
            "server refused: role \"auditor\" lacks permission \"entries.write\" (caller: API \
             key {auditor_id}) (PermissionDenied)"
        ),
    );
    let log = server.log();
    assert!(
        log.contains("admin_denied") && !log.contains(&auditor),
        "the denial is audited, the key never logged:\n{log}"
    );
    refused(
        &server,
        &plain,
        &["entry", "show"],
        &format!(
            "server refused: API key {plain_id} may not use the admin API (an API key needs an \
             admin:<role> scope) (PermissionDenied)"
        ),
    );
    // The last character changed (to one it is not: a key ending in 'A' would stay itself).
    let last = if auditor.ends_with('A') { "B" } else { "A" };
    let mangled = format!("{}{last}", &auditor[..auditor.len() - 1]);
    assert_ne!(mangled, auditor);
    refused(
        &server,
        &mangled,
        &["entry", "show"],
        "server refused: the API key is malformed (Unauthenticated)",
    );
    server.ok(&["api-key", "revoke", &auditor_id]);
    refused(
        &server,
        &auditor,
        &["entry", "show"],
        "server refused: the API key is invalid, expired or revoked (Unauthenticated)",
    );
    // Nothing was created by the refused call.
    let listed = server.ok(&["entry", "show"]);
    assert!(!listed.contains("spiffe://example.org/after"), "{listed}");
}

#[test]
fn another_tenants_admin_key_is_limited_to_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server(dir.path(), "");
    server.ok(&["tenant", "create", "--id", "acme", "--name", "Acme"]);
    client(&server, "acme", "ops", &["--scope", "admin:identity-admin"]);
    let (id, key) = create_key(
        &server,
        &[
            "--tenant",
            "acme",
            "--client",
            "ops",
            "--name",
            "ops",
            "--scope",
            "admin:identity-admin",
        ],
    );
    let listed = ok(&server, &key, &["client", "list", "--tenant", "acme"]);
    assert!(listed.contains("ops"), "{listed}");
    let me = ok(
        &server,
        &key,
        &["whoami", "--tenant", "acme", "--output", "json"],
    );
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["principal"], format!("API key {id}"));
    assert_eq!(me["role"], "identity-admin");
    assert_eq!(me["tenant"], "acme");
    // A call naming another tenant looks there (and in the default tenant): not found.
    for args in [
        &["client", "list", "--tenant", "default"][..],
        &["entry", "show"],
    ] {
        refused(
            &server,
            &key,
            args,
            "server refused: the API key is invalid, expired or revoked (Unauthenticated)",
        );
    }
}
