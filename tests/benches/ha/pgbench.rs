//! The peer of the PostgreSQL refresh figure: PostgreSQL alone (`pgbench`, no Tessera),
//! running the statements a refresh runs, on the same machine in the same run — the
//! database's own ceiling for that work here.
//!
//! A throwaway database gets Tessera's schema (the server's migrations) and `families`
//! synthetic grants with their first refresh token. Each pgbench transaction refreshes a
//! random family with the two calls the server makes (migration 9's functions): the token
//! joined with its grant and the grant's user, then the rotation (generation swap and the
//! new token's row as one statement). pgbench first reads the family's current generation
//! (it has no memory of the tokens it minted): one more primary-key read than a real
//! refresh. Same connection count as the two replicas' pools; `-M prepared`, as sqlx
//! prepares its statements.

use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

use tessera_server::datastore::{PgSettings, PgStore};
use tessera_tests::TestDatabase;
use zeroize::Zeroizing;

const SCRIPT: &str = r"\set i random(1, :families)
SELECT generation AS gen FROM grants WHERE tenant_id = 'default' AND grant_id = 'g' || :i \gset
SELECT * FROM tessera_find_refresh_token_and_user('default', 'h' || :i || '-' || :gen);
SELECT * FROM tessera_rotate_refresh_token('default', 'g' || :i, :gen, :gen + 1, 1700000001, 'h' || :i || '-' || :gen, 'h' || :i || '-' || (:gen + 1));
";

/// `pgbench` on `PATH`, else in Debian's versioned directory; the bench fails without it.
fn pgbench() -> String {
    if Command::new("pgbench").arg("--version").output().is_ok() {
        return "pgbench".into();
    }
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("bin/pgbench"))
        .find(|p| p.exists());
    match found {
        Some(p) => p.display().to_string(),
        None => panic!("pgbench not found (Debian package postgresql-client or postgresql)"),
    }
}

/// Refreshes per second PostgreSQL alone sustains on the empty database `db` with
/// `connections` clients for `window`.
pub async fn ceiling(
    db: &TestDatabase,
    families: usize,
    connections: usize,
    window: Duration,
) -> f64 {
    let settings = PgSettings {
        connection_string: Zeroizing::new(db.url.clone()),
        ro_connection_string: None,
        max_connections: 2,
        client_cache_ttl: Duration::ZERO,
    };
    let store = PgStore::open(&settings).await.unwrap();
    store.close().await;
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        for sql in [
            "INSERT INTO grants (grant_id, user_id, client_id, scopes, auth_time, amr, \
             created_at, expires_at, generation, rotated_at, tenant_id) \
             SELECT 'g' || i, 'u' || (i % 100), 'bench-spa', '{openid}', 0, \
             '{pwd}', 0, 9999999999, 0, 1700000000, 'default' FROM generate_series(1, $1) i",
            "INSERT INTO refresh_tokens (token_hash, grant_id, generation, tenant_id) \
             SELECT 'h' || i || '-0', 'g' || i, 0, 'default' FROM generate_series(1, $1) i",
        ] {
            sqlx::query(sql)
                .bind(i32::try_from(families).unwrap())
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query(
            "INSERT INTO users (id, username_key, revision, data, tenant_id) \
             SELECT 'u' || i, 'user' || i, 1, \
             convert_to('{\"disabled\":false,\"pad\":\"' || repeat('a', 300) || '\"}', 'UTF8') \
             , 'default' FROM generate_series(0, 99) i",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("VACUUM ANALYZE")
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
    }
    let mut script = tempfile::NamedTempFile::new().unwrap();
    script.write_all(SCRIPT.as_bytes()).unwrap();
    let url = db.url.clone();
    let path = script.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(pgbench())
            .args(["-n", "-M", "prepared", "-j", "2"])
            .arg(format!("-c{connections}"))
            .arg(format!("-T{}", window.as_secs().max(1)))
            .arg(format!("-Dfamilies={families}"))
            .arg("-f")
            .arg(&path)
            .arg(&url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}
