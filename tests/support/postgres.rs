//! A fresh PostgreSQL database per integration test, from `TESSERA_TEST_DATABASE_URL` (set
//! by `tests/run`) or the server on 127.0.0.1:5432; dropped on drop. No server is a test
//! failure with a clear message, never a skip.

use std::str::FromStr as _;

use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The server tests use when `TESSERA_TEST_DATABASE_URL` is not set.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn base_url() -> String {
    std::env::var("TESSERA_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(url: &str) -> PgConnection {
    PgConnectOptions::from_str(url)
        .unwrap()
        .disable_statement_logging()
        .connect()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL for the tests ({e}): set TESSERA_TEST_DATABASE_URL or run one on \
                 127.0.0.1:5432 (tests/run starts a private one)"
            )
        })
}

/// One throwaway database `tessera_t_<random>`.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URI.
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates it.
    pub fn create() -> Self {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        let name = format!(
            "tessera_t_{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        runtime().block_on(async {
            let mut conn = connect(&base_url()).await;
            // A database name cannot be a bound parameter; this one is ours (hex only).
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        Self {
            url: with_database(&base_url(), &name),
            name,
        }
    }

    /// The `[datastore]` section of a server on this database.
    pub fn server_config(&self) -> String {
        format!(
            "\n[datastore]\nkind = \"postgres\"\nconnection_string = \"{}\"\nmax_connections = 4\n",
            self.url
        )
    }

    /// The `[datastore]` section with `password` in the URI's user info (the test servers
    /// trust local logins, so any password works: it is there to be looked for in logs).
    pub fn server_config_with_password(&self, password: &str) -> String {
        let url = match self.url.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((user, host)) if !user.contains(':') => {
                    format!("{scheme}://{user}:{password}@{host}")
                }
                _ => self.url.clone(),
            },
            None => self.url.clone(),
        };
        format!(
            "\n[datastore]\nkind = \"postgres\"\nconnection_string = \"{url}\"\nmax_connections = 4\n"
        )
    }

    /// The first column of every row `sql` returns, as text (`sql` is the test's own).
    pub fn query_texts(&self, sql: &'static str) -> Vec<String> {
        runtime().block_on(async {
            let mut conn = connect(&self.url).await;
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
            rows.into_iter().map(|(v,)| v).collect()
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            runtime().block_on(async {
                let mut conn = connect(&base_url()).await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            });
        });
        let _ = done.join();
    }
}
