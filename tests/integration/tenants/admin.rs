//! The admin RPCs that touch tenant data (users, OAuth clients, tenants) used from one
//! tenant against another's records, through the real CLI: every attempt is refused with
//! its exact error and changes nothing.

use serde_json::Value;

use super::Tenants;

fn refused(t: &Tenants, args: &[&str]) -> String {
    let out = t.server.cli(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

fn json(t: &Tenants, args: &[&str]) -> Value {
    serde_json::from_str(&t.server.ok(args)).unwrap()
}

#[test]
fn acme_admin_calls_never_reach_globex_records() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tenants::start(dir.path());
    let acme_alice = t.user("acme", "alice", "acme-alice-password-1");
    let globex_alice = t.user("globex", "alice", "globex-alice-password-1");
    assert_ne!(acme_alice, globex_alice);
    t.machine_client("acme", "acme-only");
    t.machine_client("acme", "web");
    t.machine_client("globex", "web");

    // Reading: each tenant lists and finds only its own.
    let users = json(
        &t,
        &["user", "list", "--tenant", "globex", "--output", "json"],
    );
    let ids: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [globex_alice.as_str()]);
    let clients = json(
        &t,
        &["client", "list", "--tenant", "globex", "--output", "json"],
    );
    assert_eq!(clients["clients"].as_array().unwrap().len(), 1, "{clients}");
    let default_users = json(&t, &["user", "list", "--output", "json"]);
    assert!(default_users["users"].as_array().unwrap().is_empty());

    // Acme's user by ID, from globex: not found, for every verb.
    for verb in [
        vec!["user", "show", "--id", &acme_alice],
        vec![
            "user",
            "update",
            "--id",
            &acme_alice,
            "--display-name",
            "Mallory",
        ],
        vec!["user", "disable", "--id", &acme_alice],
        vec!["user", "enable-totp", "--id", &acme_alice],
        vec!["user", "delete", "--id", &acme_alice],
    ] {
        let mut args = verb.clone();
        args.extend(["--tenant", "globex"]);
        let err = refused(&t, &args);
        assert!(
            err.starts_with("error: server refused: ")
                && err.ends_with("(NotFound)")
                && err.contains(&acme_alice),
            "{args:?}: {err}"
        );
    }
    let out = t.server.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--id",
            &acme_alice,
            "--tenant",
            "globex",
            "--password-stdin",
        ],
        "new-password-123456",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NotFound"));

    // Acme's client, from globex: not found for every verb.
    for verb in [
        vec!["client", "show", "--client-id", "acme-only"],
        vec![
            "client",
            "update",
            "--client-id",
            "acme-only",
            "--name",
            "Mallory",
        ],
        vec!["client", "rotate-secret", "--client-id", "acme-only"],
        vec!["client", "delete", "--client-id", "acme-only"],
    ] {
        let mut args = verb.clone();
        args.extend(["--tenant", "globex"]);
        let err = refused(&t, &args);
        assert_eq!(
            err, "error: server refused: no OAuth client \"acme-only\" (NotFound)",
            "{args:?}"
        );
    }
    // Deleting globex's "web" leaves acme's "web".
    t.server.ok(&[
        "client",
        "delete",
        "--client-id",
        "web",
        "--tenant",
        "globex",
    ]);
    let web = json(
        &t,
        &[
            "client",
            "show",
            "--client-id",
            "web",
            "--tenant",
            "acme",
            "--output",
            "json",
        ],
    );
    assert_eq!(web["client_id"], "web");
    // Everything of acme is intact.
    let alice = json(
        &t,
        &[
            "user",
            "show",
            "--id",
            &acme_alice,
            "--tenant",
            "acme",
            "--output",
            "json",
        ],
    );
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["display_name"], "");
    assert_eq!(alice["disabled"], false, "{alice}");

    // Tenants that do not exist, malformed IDs, the default tenant.
    assert_eq!(
        refused(&t, &["user", "list", "--tenant", "nobody"]),
        "error: server refused: no tenant \"nobody\" (NotFound)"
    );
    assert_eq!(
        refused(&t, &["client", "list", "--tenant", "Acme"]),
        "error: --tenant: tenant ID \"Acme\" must be lowercase letters, digits and inner '-' (like a DNS label)"
    );
    assert_eq!(
        refused(&t, &["tenant", "delete", "--id", "default"]),
        "error: server refused: the default tenant cannot be deleted (InvalidArgument)"
    );
    assert_eq!(
        refused(&t, &["tenant", "create", "--id", "acme"]),
        "error: server refused: tenant \"acme\" already exists (AlreadyExists)"
    );

    // Deleting a tenant deletes what it owns; its issuer is gone.
    t.server.ok(&["tenant", "delete", "--id", "acme"]);
    assert_eq!(
        refused(&t, &["user", "list", "--tenant", "acme"]),
        "error: server refused: no tenant \"acme\" (NotFound)"
    );
    t.server.ok(&["tenant", "create", "--id", "acme"]);
    let users = json(
        &t,
        &["user", "list", "--tenant", "acme", "--output", "json"],
    );
    assert!(users["users"].as_array().unwrap().is_empty(), "{users}");
    let globex = json(
        &t,
        &["user", "list", "--tenant", "globex", "--output", "json"],
    );
    assert_eq!(globex["users"].as_array().unwrap().len(), 1);
    let listed = json(&t, &["tenant", "list", "--output", "json"]);
    let ids: Vec<&str> = listed["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "default", "globex"]);
    let log = t.server.log();
    assert!(log.contains("event=\"tenant_deleted\""), "audit event");
    assert!(log.contains("event=\"user_created\"") && log.contains("tenant=globex"));
}
