//! Connecting to PostgreSQL and applying the embedded migrations, with errors that never
//! carry the password.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::Connection as _;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use zeroize::Zeroizing;

/// The schema, embedded at build time from `server/migrations/`.
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before the database counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for at least this long is pinged before it is handed out, so
/// one the database closed while it sat idle (a restart, a failover) is replaced instead
/// of failing a request. One in steady use is not: that ping is a round trip per
/// statement, 21 % of the refresh grants a second on PostgreSQL (`cargo bench --bench
/// ha`). The price: a connection closed by the database less than this long after its
/// last use fails its next statement once (answered as unavailable), then is replaced.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// How to reach the database (`[datastore]` with `kind = "postgres"`).
#[derive(Clone)]
pub struct PgSettings {
    /// libpq URI (`postgres://user:password@host:port/db?sslmode=verify-full`).
    pub connection_string: Zeroizing<String>,
    /// Optional URI of a replica for reads that may be stale (admin listings).
    pub ro_connection_string: Option<Zeroizing<String>>,
    /// Pool size (per URI).
    pub max_connections: u32,
    /// How long this replica may use an OAuth client (and its secret record) it read,
    /// before reading it again; zero reads it at every use. Changes made through this
    /// replica are seen at once.
    pub client_cache_ttl: Duration,
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSettings")
            .field("connection_string", &"<redacted>")
            .field(
                "ro_connection_string",
                &self.ro_connection_string.as_ref().map(|_| "<redacted>"),
            )
            .field("max_connections", &self.max_connections)
            .field("client_cache_ttl", &self.client_cache_ttl)
            .finish()
    }
}

/// Why the PostgreSQL datastore could not be opened. No variant holds a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgOpenError {
    /// The URI does not parse (`which` names the config key).
    #[error("{which} is not a valid PostgreSQL URI: {reason}")]
    InvalidUri {
        /// `datastore.connection_string` or `datastore.ro_connection_string`.
        which: &'static str,
        /// Why (with any password removed).
        reason: String,
    },
    /// The database could not be reached or refused the login.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Unreachable {
        /// `host:port/database` (never the user's password).
        target: String,
        /// Why (with any password removed).
        reason: String,
    },
    /// The database has migrations this binary does not know: it was migrated by a newer
    /// tessera-server.
    #[error(
        "the database schema is newer than this tessera-server (it has migration {version} \
         which this binary does not know); run a tessera-server at least as new as the one \
         that migrated it"
    )]
    SchemaTooNew {
        /// The unknown migration's version.
        version: i64,
    },
    /// An applied migration differs from the embedded one of the same version.
    #[error(
        "the database's migration {version} differs from this tessera-server's: wrong database?"
    )]
    SchemaMismatch {
        /// The migration's version.
        version: i64,
    },
    /// Applying the migrations failed.
    #[error("migrating the database: {0}")]
    Migration(String),
    /// The application role could read every tenant's rows (superuser, `BYPASSRLS`, or
    /// owner of the tables), so row-level security would not isolate tenants.
    #[error(
        "the database role {role:?} bypasses row-level security (superuser, BYPASSRLS or \
         table owner): tenants would not be isolated; keep tessera_app NOBYPASSRLS and owning \
         no table"
    )]
    BypassesRowSecurity {
        /// The role the connections work as.
        role: String,
    },
}

/// The password in a libpq URI (`user:password@` or `password=` in the query), raw and
/// percent-decoded, so it can be scrubbed from any message.
fn passwords(uri: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some((_, rest)) = uri.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            found.push(password.to_owned());
        }
    }
    if let Some((_, query)) = uri.split_once('?') {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key == "password" {
                found.push(value.into_owned());
            }
        }
    }
    let decoded: Vec<String> = found
        .iter()
        .map(|p| {
            form_urlencoded::parse(format!("p={p}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default()
        })
        .collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found
}

/// `message` with every password of `uri` replaced.
pub(super) fn scrub(message: &str, uri: &str) -> String {
    let mut out = message.to_owned();
    for p in passwords(uri) {
        out = out.replace(&p, "<redacted>");
    }
    out
}

/// Parses `uri` (statement logging off: statements never reach the log).
fn options(which: &'static str, uri: &str) -> Result<PgConnectOptions, PgOpenError> {
    PgConnectOptions::from_str(uri)
        .map(|o| o.disable_statement_logging())
        .map_err(|e| PgOpenError::InvalidUri {
            which,
            reason: scrub(&e.to_string(), uri),
        })
}

/// Checks that `uri` parses (config validation); the error names no password.
pub fn check_uri(which: &'static str, uri: &str) -> Result<(), PgOpenError> {
    options(which, uri).map(|_| ())
}

fn target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// The role the application works as (made by migration 0005): neither the owner of a
/// table nor `BYPASSRLS`, so row-level security binds every statement it runs.
pub(super) const APP_ROLE: &str = "tessera_app";

/// Which connections a pool hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// As the configured login (the schema's owner): migrations only.
    Login,
    /// Switched to [`APP_ROLE`] when connected: everything else.
    App,
}

/// A pool on `uri`; connects once so a bad address or login fails here, at start.
pub(super) async fn pool(
    which: &'static str,
    uri: &str,
    max_connections: u32,
    role: Role,
) -> Result<PgPool, PgOpenError> {
    let options = options(which, uri)?;
    let target = target(&options);
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if role == Role::App {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET ROLE {APP_ROLE}")))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| PgOpenError::Unreachable {
            target,
            reason: scrub(&e.to_string(), uri),
        })
}

/// Refuses a pool whose role could read across tenants: a superuser, a `BYPASSRLS` role
/// or the owner of the tenant-owned tables (row-level security would not bind it).
pub(super) async fn check_row_security(pool: &PgPool) -> Result<(), PgOpenError> {
    let row: Option<(String, bool, bool)> = sqlx::query_as(
        "SELECT r.rolname::TEXT, r.rolsuper OR r.rolbypassrls, \
           EXISTS (SELECT 1 FROM pg_tables t WHERE t.tablename = 'users' \
                   AND t.schemaname = current_schema() AND t.tableowner = current_user) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| PgOpenError::Migration(format!("checking the application role: {e}")))?;
    match row {
        Some((_, false, false)) => Ok(()),
        Some((role, _, _)) => Err(PgOpenError::BypassesRowSecurity { role }),
        None => Err(PgOpenError::BypassesRowSecurity {
            role: "<unknown>".into(),
        }),
    }
}

/// Applies the embedded migrations. sqlx's migrator holds a PostgreSQL advisory lock
/// (`pg_advisory_lock`) for the whole run, so replicas starting together apply each
/// migration once and the others wait, then find it applied.
pub(super) async fn migrate(pool: &PgPool, uri: &str) -> Result<(), PgOpenError> {
    MIGRATOR.run(pool).await.map_err(|e| match e {
        MigrateError::VersionMissing(version) => PgOpenError::SchemaTooNew { version },
        MigrateError::VersionMismatch(version) => PgOpenError::SchemaMismatch { version },
        other => PgOpenError::Migration(scrub(&other.to_string(), uri)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_in_userinfo_and_query_and_scrubbed() {
        let uri = "postgres://app:s3cr%40t@db:5432/tessera?sslmode=require&password=other";
        let found = passwords(uri);
        assert!(found.contains(&"s3cr%40t".to_owned()), "{found:?}");
        assert!(found.contains(&"s3cr@t".to_owned()), "{found:?}");
        assert!(found.contains(&"other".to_owned()), "{found:?}");
        let message = "failed for postgres://app:s3cr%40t@db (s3cr@t, other)";
        let scrubbed = scrub(message, uri);
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
        assert!(!scrubbed.contains("other"), "{scrubbed}");
        assert!(passwords("postgres://app@db/x").is_empty());
    }

    #[test]
    fn a_bad_uri_is_refused_without_its_password() {
        let uri = "postgres://app:hunter2@db:notaport/x";
        let err = check_uri("datastore.connection_string", uri).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("datastore.connection_string is not a valid"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(format!("{err:?}").find("hunter2").is_none());
    }

    #[test]
    fn settings_debug_redacts_the_uris() {
        let s = PgSettings {
            connection_string: Zeroizing::new("postgres://a:hunter2@h/d".into()),
            ro_connection_string: Some(Zeroizing::new("postgres://a:hunter3@h/d".into())),
            max_connections: 4,
            client_cache_ttl: Duration::ZERO,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter"), "{shown}");
    }
}
