//! `user create|show|list|update|delete|set-password|enable-totp|disable` against a real
//! server: passwords only through stdin, never in output or the server's log.

use std::process::Output;

use serde_json::Value;
use tessera_tests::ServerProcess;

use super::config;

const FIRST: &str = "Corr3ct-Horse-Battery";
const SECOND: &str = "N3w-Secret-Phrase!";

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Runs an admin command with `stdin` piped in.
fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(out: &Output, needles: &[&str]) -> String {
    let (stdout, stderr) = text(out);
    assert!(!out.status.success(), "should fail: {stdout}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    }
    stderr
}

#[test]
fn user_lifecycle_reads_passwords_from_stdin_and_never_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());

    let create = [
        "user",
        "create",
        "--username",
        "Alice",
        "--email",
        "alice@example.org",
        "--display-name",
        "Alice Liddell",
        "--password-stdin",
        "--output",
        "json",
    ];
    let out = server.cli_with_stdin(&create, &format!("{FIRST}\n"));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let alice = json(&stdout);
    let id = alice["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 22, "{alice}");
    assert_eq!(alice["username"], "Alice");
    assert_eq!(alice["email"], "alice@example.org");
    assert_eq!(alice["disabled"], false);
    assert_eq!(alice["totp_enabled"], false);
    assert!(
        !stdout.contains(FIRST) && !stdout.contains("argon2"),
        "{stdout}"
    );

    let shown = json(&server.ok(&["user", "show", "--username", "ALICE", "--output", "json"]));
    assert_eq!(shown, alice);
    let by_id = json(&server.ok(&["user", "show", "--id", &id, "--output", "json"]));
    assert_eq!(by_id, alice);
    let pretty = server.ok(&["user", "show", "--id", &id]);
    assert!(pretty.contains("Alice Liddell"), "{pretty}");
    let listed = json(&server.ok(&["user", "list", "--output", "json"]));
    assert_eq!(listed["users"], serde_json::json!([alice.clone()]));

    // The same username in another case is refused, clearly, with a failing exit code.
    let dup = server.cli_with_stdin(
        &["user", "create", "--username", "aLiCe", "--password-stdin"],
        &format!("{FIRST}\n"),
    );
    refused(&dup, &["already taken", "AlreadyExists"]);
    // No password on the command line: without --password-stdin and no terminal it fails.
    let none = server.cli(&["user", "create", "--username", "bob"]);
    refused(&none, &["--password-stdin"]);
    let flag = server.cli(&["user", "create", "--username", "bob", "--password", FIRST]);
    assert!(!flag.status.success(), "there is no --password flag");
    let short = server.cli_with_stdin(
        &["user", "create", "--username", "bob", "--password-stdin"],
        "tiny12\n",
    );
    let stderr = refused(
        &short,
        &["password: at least 8 characters", "InvalidArgument"],
    );
    assert!(!stderr.contains("tiny12"), "{stderr}");
    let bad = server.cli_with_stdin(
        &[
            "user",
            "create",
            "--username",
            "bad name",
            "--password-stdin",
        ],
        &format!("{FIRST}\n"),
    );
    refused(&bad, &["username: "]);

    let changed = server.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--username",
            "alice",
            "--password-stdin",
        ],
        &format!("{SECOND}\n"),
    );
    assert!(changed.status.success(), "{:?}", text(&changed));

    let uri = server.ok(&["user", "enable-totp", "--username", "alice"]);
    assert!(
        uri.starts_with("otpauth://totp/Tessera:Alice?secret="),
        "{uri}"
    );
    assert!(uri.contains("&issuer=Tessera"), "{uri}");
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let again = json(&server.ok(&["user", "enable-totp", "--id", &id, "--output", "json"]));
    assert!(
        again["provisioning_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let shown = json(&server.ok(&["user", "show", "--id", &id, "--output", "json"]));
    assert_eq!(shown["totp_enabled"], true);
    assert!(!shown.to_string().contains(&secret));

    let disabled =
        json(&server.ok(&["user", "disable", "--username", "alice", "--output", "json"]));
    assert_eq!(disabled["disabled"], true);
    let enabled = json(&server.ok(&[
        "user",
        "update",
        "--username",
        "alice",
        "--enabled",
        "true",
        "--new-username",
        "Alicia",
        "--output",
        "json",
    ]));
    assert_eq!(enabled["disabled"], false);
    assert_eq!(enabled["username"], "Alicia");
    assert_eq!(enabled["id"], id.as_str());
    let off = json(&server.ok(&[
        "user",
        "update",
        "--id",
        &id,
        "--disable-totp",
        "--output",
        "json",
    ]));
    assert_eq!(off["totp_enabled"], false);

    // An ID that is someone's username is not an ID.
    refused(
        &server.cli(&["user", "show", "--id", "alicia"]),
        &["no user with ID"],
    );
    refused(
        &server.cli(&["user", "show", "--username", "nobody"]),
        &["NotFound"],
    );

    let deleted = server.ok(&["user", "delete", "--username", "alicia"]);
    assert!(deleted.contains("deleted"), "{deleted}");
    refused(&server.cli(&["user", "show", "--id", &id]), &["NotFound"]);
    let listed = json(&server.ok(&["user", "list", "--output", "json"]));
    assert_eq!(listed["users"], serde_json::json!([]));

    let log = server.log();
    for event in [
        "user_created",
        "user_password_changed",
        "user_totp_enabled",
        "user_disabled",
        "user_enabled",
        "user_totp_disabled",
        "user_deleted",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("tessera::audit") && l.contains(event)),
            "{event} not audited:\n{log}"
        );
    }
    for leaked in [FIRST, SECOND, "tiny12", secret.as_str(), "$argon2id"] {
        assert!(
            !log.contains(leaked),
            "{leaked:?} in the server log:\n{log}"
        );
    }
}
