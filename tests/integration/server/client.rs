//! `client create|show|list|update|delete|rotate-secret` against a real server.

use serde_json::Value;
use tessera_tests::ServerProcess;

use super::config;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn create(server: &ServerProcess, id: &str) -> String {
    let out = server.ok(&[
        "client",
        "create",
        "--client-id",
        id,
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--scope",
        "write",
        "--audience",
        "https://api.example.org",
        "--name",
        "Billing",
        "--access-token-ttl",
        "5m",
        "--output",
        "json",
    ]);
    let doc = json(&out);
    assert_eq!(doc["client_id"], id);
    doc["client_secret"].as_str().unwrap().to_string()
}

#[test]
fn client_lifecycle_shows_the_secret_once_and_never_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());

    let secret = create(&server, "billing");
    assert!(secret.len() >= 43, "{secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{secret}"
    );

    let shown = server.ok(&[
        "client",
        "show",
        "--client-id",
        "billing",
        "--output",
        "json",
    ]);
    assert!(!shown.contains(&secret), "{shown}");
    let doc = json(&shown);
    assert_eq!(doc["auth_method"], "client_secret_basic");
    assert_eq!(doc["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(
        doc["audiences"],
        serde_json::json!(["https://api.example.org"])
    );
    assert_eq!(doc["access_token_ttl"], 300);
    assert_eq!(doc["enabled"], true);
    assert!(doc["created_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(doc["secret_rotated_at"], 0);
    let pretty = server.ok(&["client", "show", "--client-id", "billing"]);
    assert!(
        pretty.contains("Billing") && !pretty.contains(&secret),
        "{pretty}"
    );

    // A SPIFFE-authenticated client gets no secret.
    let out = server.ok(&[
        "client",
        "create",
        "--client-id",
        "mesh-svc",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--auth-method",
        "spiffe_jwt",
        "--spiffe-id",
        "spiffe://example.org/ns/prod/sa/api",
        "--output",
        "json",
    ]);
    assert_eq!(json(&out)["client_secret"], Value::Null, "{out}");

    let list = json(&server.ok(&["client", "list", "--output", "json"]));
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["billing", "mesh-svc"]);
    assert!(server.ok(&["client", "list"]).contains("Found 2 clients"));

    let updated = json(&server.ok(&[
        "client",
        "update",
        "--client-id",
        "billing",
        "--scope",
        "admin",
        "--enabled",
        "false",
        "--output",
        "json",
    ]));
    assert_eq!(updated["scopes"], serde_json::json!(["admin"]));
    assert_eq!(updated["enabled"], false);
    assert_eq!(
        updated["audiences"], doc["audiences"],
        "unchanged fields kept"
    );
    assert_eq!(updated["created_at"], doc["created_at"]);

    let rotated = json(&server.ok(&[
        "client",
        "rotate-secret",
        "--client-id",
        "billing",
        "--grace-period",
        "10m",
        "--output",
        "json",
    ]));
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert!(new_secret.len() >= 43);
    assert_ne!(new_secret, secret);
    let after = json(&server.ok(&[
        "client",
        "show",
        "--client-id",
        "billing",
        "--output",
        "json",
    ]));
    assert!(after["secret_rotated_at"].as_i64().unwrap() > 0);

    let refused = server.cli(&["client", "rotate-secret", "--client-id", "mesh-svc"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("FailedPrecondition"));

    assert!(
        server
            .ok(&["client", "delete", "--client-id", "billing"])
            .contains("deleted")
    );
    let gone = server.cli(&["client", "show", "--client-id", "billing"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));

    let log = server.log();
    assert!(log.contains("oauth_client_created"), "{log}");
    assert!(log.contains("oauth_client_secret_rotated"), "{log}");
    assert!(
        !log.contains(&secret) && !log.contains(&new_secret),
        "a secret reached the log"
    );
}

#[test]
fn client_create_refuses_duplicates_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    create(&server, "dup");

    let again = server.cli(&[
        "client",
        "create",
        "--client-id",
        "dup",
        "--grant-type",
        "client_credentials",
    ]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("AlreadyExists"), "{err}");

    let password = server.cli(&[
        "client",
        "create",
        "--client-id",
        "legacy",
        "--grant-type",
        "password",
    ]);
    assert_eq!(password.status.code(), Some(1));
    let err = String::from_utf8_lossy(&password.stderr);
    assert!(
        err.contains("InvalidArgument") && err.contains("grant_types") && err.contains("password"),
        "{err}"
    );

    let bad_id = server.cli(&[
        "client",
        "create",
        "--client-id",
        "a b",
        "--grant-type",
        "client_credentials",
    ]);
    assert_eq!(bad_id.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("client_id"));

    let no_jwks = server.cli(&[
        "client",
        "create",
        "--client-id",
        "jwt",
        "--grant-type",
        "client_credentials",
        "--auth-method",
        "private_key_jwt",
    ]);
    assert_eq!(no_jwks.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_jwks.stderr).contains("jwks"));

    let list = json(&server.ok(&["client", "list", "--output", "json"]));
    assert_eq!(list["clients"].as_array().unwrap().len(), 1);
}
