//! The audit trail (`[audit] sink = "file"`) of a real server: admin changes and token
//! decisions become chained JSON records with a request id; `audit verify` accepts the
//! file and refuses an edited one; no secret reaches it.

use serde_json::Value;
use tessera_tests::http::post_form;
use tessera_tests::{ServerProcess, free_port, run_cli};

const PASSWORD: &str = "Audit-Trail-Passw0rd";

#[test]
fn decisions_and_admin_changes_form_a_verifiable_chain_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("audit.jsonl");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = format!(
        "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{base}\"\n[audit]\nsink = \"file\"\nfile = \"{}\"\n",
        super::config(),
        trail.display()
    );
    let server = ServerProcess::start(dir.path(), &config);
    let created: Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "partner",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let (status, granted) = post_form(
        &base,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "partner"),
            ("client_secret", &secret),
        ],
    );
    assert_eq!(status, 200, "{granted}");
    let access_token = granted["access_token"].as_str().unwrap().to_owned();
    let (status, _) = post_form(
        &base,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "partner"),
            ("client_secret", "wrong"),
        ],
    );
    assert_eq!(status, 401);
    // Admin changes after the refusal (so an edit of the refusal has a record after it).
    server.create_user("ada", &[], PASSWORD);
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/node",
        "--spiffe-id",
        "spiffe://example.org/audited",
        "--selector",
        "unix:uid:1000",
    ]);

    let text = std::fs::read_to_string(&trail).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |event: &str| {
        records
            .iter()
            .find(|r| r["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {text}"))
            .clone()
    };
    let created = find("oauth_client_created");
    assert_eq!(created["actor"], "admin_api");
    let entry = find("entry_created");
    assert_eq!(
        (entry["actor"].as_str(), entry["subject"].as_str()),
        (Some("admin_api"), Some("spiffe://example.org/audited"))
    );
    let issued = find("oauth_token_issued");
    assert_eq!(
        (issued["actor"].as_str(), issued["decision"].as_str()),
        (Some("partner"), Some("allow"))
    );
    assert_eq!(
        issued["request_id"].as_str().map(str::len),
        Some(24),
        "{issued}"
    );
    let refused = find("oauth_token_refused");
    assert_eq!(refused["decision"], "deny", "{refused}");
    assert_eq!(records[0]["seq"], 1);
    assert_eq!(records[0]["prev"], "0".repeat(64));
    for secret in [secret.as_str(), PASSWORD, access_token.as_str()] {
        assert!(!text.contains(secret), "a secret reached the audit trail");
    }

    let verify = |path: &std::path::Path| run_cli(&["audit", "verify", path.to_str().unwrap()]);
    let ok = verify(&trail);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("audit trail intact: "));

    // An edited copy (the refusal turned into an allow) fails, naming the line after it.
    let line = text
        .lines()
        .position(|l| l.contains("oauth_token_refused"))
        .unwrap()
        + 1;
    let forged = dir.path().join("forged.jsonl");
    let edited = text.replacen("\"decision\":\"deny\"", "\"decision\":\"allow\"", 1);
    std::fs::write(&forged, &edited).unwrap();
    let bad = verify(&forged);
    assert_eq!(bad.status.code(), Some(1));
    let expected_line = line + 1;
    let err = String::from_utf8_lossy(&bad.stderr);
    if text.lines().count() > line {
        assert!(
            err.contains(&format!("{}:{expected_line}: record", forged.display()))
                && err.contains(
                    "does not follow the line before it (edited, removed or inserted records)"
                ),
            "{err}"
        );
    }
}
