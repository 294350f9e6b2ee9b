//! A fresh PostgreSQL database per test: created from `TESSERA_TEST_DATABASE_URL` (else the
//! server on 127.0.0.1:5432), dropped when the [`TestDb`] is dropped. No server is a test
//! failure with a clear message, never a skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr as _;

use sqlx::ConnectOptions as _;
use sqlx::postgres::PgConnectOptions;
use zeroize::Zeroizing;

use super::{PgSettings, PgStore};

/// The server tests use when `TESSERA_TEST_DATABASE_URL` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance database URL tests create their databases from.
pub fn base_url() -> String {
    std::env::var("TESSERA_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub fn admin_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&base_url())
        .expect("TESSERA_TEST_DATABASE_URL is not a PostgreSQL URI")
        .disable_statement_logging()
}

/// One throwaway database.
#[derive(Debug)]
pub struct TestDb {
    /// Its URI.
    pub url: String,
    name: String,
}

impl TestDb {
    /// Creates `tessera_t_<random>`.
    pub async fn create() -> Self {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        let name = format!("tessera_t_{}", hex::encode(random));
        let mut conn = admin_options().connect().await.unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL for the tests at {} ({e}): set TESSERA_TEST_DATABASE_URL or run \
                 one on 127.0.0.1:5432 (tests/run starts a private one)",
                admin_options().get_host()
            )
        });
        // A database name cannot be a bound parameter; this one is ours (hex only).
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        Self {
            url: with_database(&base_url(), &name),
            name,
        }
    }

    /// Settings for this database.
    pub fn settings(&self) -> PgSettings {
        PgSettings {
            connection_string: Zeroizing::new(self.url.clone()),
            ro_connection_string: None,
            max_connections: 8,
            // As configured by default, so the shared suites run through the cache.
            client_cache_ttl: std::time::Duration::from_secs(1),
        }
    }

    /// A connection pool as the login role (the schema's owner, a superuser here), not
    /// switched to the application role: for what only an administrator may do.
    pub async fn login_pool(&self) -> sqlx::PgPool {
        super::open::pool("test", &self.url, 2, super::open::Role::Login)
            .await
            .unwrap()
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> PgStore {
        PgStore::open(&self.settings()).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime: do the async clean-up on a thread of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = admin_options().connect().await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        });
        let _ = done.join();
    }
}

#[test]
fn database_names_replace_the_path() {
    assert_eq!(
        with_database("postgres://u:p@h:5/postgres?sslmode=require", "x"),
        "postgres://u:p@h:5/x?sslmode=require"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
