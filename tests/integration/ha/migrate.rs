//! `tessera-server migrate`: applies the schema without starting; bad or unreachable
//! databases fail clearly without showing the password.

use std::process::{Command, Output};

use tessera_tests::{TestDatabase, bin};

fn migrate(dir: &std::path::Path, config: &str) -> Output {
    let path = dir.join("server.toml");
    std::fs::write(
        &path,
        format!("trust_domain = \"example.org\"\nlog_level = \"trace\"\n{config}"),
    )
    .unwrap();
    tessera_tests::guard::output(
        Command::new(bin("tessera-server"))
            .args(["migrate", "--config"])
            .arg(&path),
    )
}

#[test]
fn migrate_applies_the_schema_and_is_idempotent() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = migrate(dir.path(), &db.server_config());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("schema is up to date"));
    }
    assert_eq!(
        db.query_texts("SELECT description FROM _sqlx_migrations ORDER BY version"),
        [
            "initial",
            "expiring",
            "grants hot updates",
            "federation",
            "tenants",
            "change notify",
            "api keys",
            "scoped calls"
        ]
    );
    // Nothing else started: no admin socket, no sled store.
    assert!(!dir.path().join(".tessera").exists());
}

#[test]
fn bad_or_unreachable_databases_fail_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let bad = migrate(
        dir.path(),
        "[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://u:hunter2@h:port/d\"\n",
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("datastore.connection_string"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // Nothing listens on port 1.
    let gone = migrate(
        dir.path(),
        "[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://u:hunter2@127.0.0.1:1/d\"\n",
    );
    // Everything it printed, at log level trace.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&gone.stdout),
        String::from_utf8_lossy(&gone.stderr)
    );
    assert_eq!(gone.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to PostgreSQL at 127.0.0.1:1/d"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}
