//! `[datastore]`: sled (embedded, the default) or PostgreSQL (several replicas).
//!
//! Connection strings hold passwords: they are zeroized, their `Debug` is redacted, and a
//! bad one is refused with a message that does not repeat it.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tessera_proto::duration::serde_str;
use zeroize::Zeroizing;

use crate::datastore::{PgSettings, check_uri};

/// Which backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreKind {
    /// sled in `<data_dir>/datastore` (one server).
    #[default]
    Sled,
    /// PostgreSQL at `connection_string` (one or more replicas).
    Postgres,
}

/// A libpq URI that may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString(Zeroizing<String>);

impl ConnectionString {
    /// The URI.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionString(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for ConnectionString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

/// `[datastore]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatastoreSection {
    /// `sled` (default) or `postgres`.
    pub kind: DatastoreKind,
    /// PostgreSQL: libpq URI (`sslmode=require|verify-full` use rustls). Required with
    /// `kind = "postgres"`.
    pub connection_string: Option<ConnectionString>,
    /// PostgreSQL: optional URI of a read replica for reads that may be stale (admin
    /// listings and counts).
    pub ro_connection_string: Option<ConnectionString>,
    /// PostgreSQL: connections per pool (1 to 1000). Default 10.
    pub max_connections: u32,
    /// PostgreSQL: how long a replica may use an OAuth client (and its secret record) it
    /// read before reading it again (0s to 60s; `0s` reads it at every use). A change made
    /// through another replica takes effect here within this bound. Default 1s.
    #[serde(with = "serde_str")]
    pub client_cache_ttl: Duration,
    /// sled: the page cache in MiB (1 to 65536). Default 16: sled's own default (1 GiB)
    /// let a server with 100,000 entries hold ~200 MB (sled counts serialized sizes: the
    /// cache's real footprint is a few times its setting). `cargo bench --bench issuance`:
    /// 87 MB at 100,000 entries with 16 (132–142 MB, and 194–204 MB with sled's default,
    /// while the allocator still used transparent huge pages), issuance unchanged.
    pub sled_cache_mib: u64,
}

/// The default `sled_cache_mib`.
pub const DEFAULT_SLED_CACHE_MIB: u64 = 16;

/// The longest `client_cache_ttl` accepted.
const MAX_CLIENT_CACHE_TTL: Duration = Duration::from_secs(60);

impl Default for DatastoreSection {
    fn default() -> Self {
        Self {
            kind: DatastoreKind::Sled,
            connection_string: None,
            ro_connection_string: None,
            max_connections: 10,
            client_cache_ttl: Duration::from_secs(1),
            sled_cache_mib: DEFAULT_SLED_CACHE_MIB,
        }
    }
}

impl DatastoreSection {
    /// Checks the keys against the kind; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        match self.kind {
            DatastoreKind::Sled => {
                for (key, value) in [
                    ("datastore.connection_string", &self.connection_string),
                    ("datastore.ro_connection_string", &self.ro_connection_string),
                ] {
                    if value.is_some() {
                        return Err((key, "only applies with kind = \"postgres\"".into()));
                    }
                }
            }
            DatastoreKind::Postgres => {
                let Some(uri) = &self.connection_string else {
                    return Err((
                        "datastore.connection_string",
                        "is required with kind = \"postgres\"".into(),
                    ));
                };
                for (key, value) in [
                    ("datastore.connection_string", Some(uri)),
                    (
                        "datastore.ro_connection_string",
                        self.ro_connection_string.as_ref(),
                    ),
                ] {
                    if let Some(uri) = value {
                        check_uri(key, uri.expose()).map_err(|e| (key, e.to_string()))?;
                    }
                }
            }
        }
        if !(1..=1000).contains(&self.max_connections) {
            return Err((
                "datastore.max_connections",
                format!("{} is not between 1 and 1000", self.max_connections),
            ));
        }
        if !(1..=65536).contains(&self.sled_cache_mib) {
            return Err((
                "datastore.sled_cache_mib",
                format!("{} is not between 1 and 65536", self.sled_cache_mib),
            ));
        }
        if self.client_cache_ttl > MAX_CLIENT_CACHE_TTL {
            return Err((
                "datastore.client_cache_ttl",
                "is longer than 60s (a disabled client or a rotated secret would be honoured \
                 that long by the other replicas)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// sled's page cache in bytes.
    pub fn sled_cache_bytes(&self) -> u64 {
        self.sled_cache_mib.saturating_mul(1024 * 1024)
    }

    /// The PostgreSQL settings, when `kind = "postgres"`.
    pub fn postgres(&self) -> Option<PgSettings> {
        match (self.kind, &self.connection_string) {
            (DatastoreKind::Postgres, Some(uri)) => Some(PgSettings {
                connection_string: uri.0.clone(),
                ro_connection_string: self.ro_connection_string.as_ref().map(|u| u.0.clone()),
                max_connections: self.max_connections,
                client_cache_ttl: self.client_cache_ttl,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use super::super::{ConfigError, ServerConfig};
    use super::*;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(
            &format!("trust_domain = \"e.org\"\n{text}"),
            Path::new("server.toml"),
        )
    }

    fn refused(text: &str) -> (String, String) {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { key, message, .. } => (key, message),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn sled_is_the_default_and_postgres_takes_its_keys() {
        let c = parse("").unwrap();
        assert_eq!(c.datastore.kind, DatastoreKind::Sled);
        assert!(c.datastore.postgres().is_none());
        assert_eq!(c.datastore.sled_cache_bytes(), 16 * 1024 * 1024);
        let c = parse("[datastore]\nsled_cache_mib = 256").unwrap();
        assert_eq!(c.datastore.sled_cache_bytes(), 256 * 1024 * 1024);
        let c = parse(
            "[datastore]\nkind = \"postgres\"\n\
             connection_string = \"postgres://app:pw@db:5432/tessera?sslmode=verify-full\"\n\
             ro_connection_string = \"postgres://app:pw@replica/tessera\"\nmax_connections = 20\n\
             client_cache_ttl = \"250ms\"",
        )
        .unwrap();
        let pg = c.datastore.postgres().unwrap();
        assert_eq!(pg.max_connections, 20);
        assert_eq!(pg.client_cache_ttl, Duration::from_millis(250));
        let default =
            parse("[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://h/d\"");
        assert_eq!(
            default
                .unwrap()
                .datastore
                .postgres()
                .unwrap()
                .client_cache_ttl,
            Duration::from_secs(1)
        );
        assert!(pg.ro_connection_string.is_some());
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw@"), "Debug shows the password: {shown}");
    }

    #[test]
    fn bad_datastore_keys_are_named_and_the_password_is_not_repeated() {
        assert_eq!(
            refused("[datastore]\nkind = \"postgres\"").0,
            "datastore.connection_string"
        );
        assert_eq!(
            refused("[datastore]\nconnection_string = \"postgres://h/d\"").0,
            "datastore.connection_string"
        );
        assert_eq!(refused("[datastore]\nkind = \"mysql\"").0, "datastore.kind");
        assert_eq!(refused("[datastore]\nbogus = 1").0, "datastore.bogus");
        assert_eq!(
            refused("[datastore]\nsled_cache_mib = 0").0,
            "datastore.sled_cache_mib"
        );
        let (key, message) = refused(
            "[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://u:hunter2@h:port/d\"",
        );
        assert_eq!(key, "datastore.connection_string");
        assert!(!message.contains("hunter2"), "{message}");
        let (key, message) = refused(
            "[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://h/d\"\n\
             ro_connection_string = \"mysql://u:hunter2@h:x/d\"",
        );
        assert_eq!(key, "datastore.ro_connection_string");
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(
            refused("[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://h/d\"\nmax_connections = 0").0,
            "datastore.max_connections"
        );
        assert_eq!(
            refused("[datastore]\nkind = \"postgres\"\nconnection_string = \"postgres://h/d\"\nclient_cache_ttl = \"61s\"").0,
            "datastore.client_cache_ttl"
        );
    }
}
