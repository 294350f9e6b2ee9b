//! [`PgStore`]: the connection pools and start-up (connect, then migrate).

use std::sync::Arc;

use sqlx::postgres::PgPool;

use super::client_cache::ClientCache;
use super::open::{self, PgOpenError, PgSettings};

/// A datastore in a PostgreSQL database shared by every server replica.
#[derive(Clone)]
pub struct PgStore {
    /// Reads and writes that must be current.
    pub(super) pool: PgPool,
    /// Reads that may be stale (admin listings): the `ro_connection_string` pool, else
    /// `pool`.
    pub(super) stale_reads: PgPool,
    /// OAuth clients read recently by this replica.
    pub(super) clients: Arc<ClientCache>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, then applies the embedded migrations under an advisory lock. A database
    /// migrated by a newer binary is refused ([`PgOpenError::SchemaTooNew`]).
    pub async fn open(settings: &PgSettings) -> Result<Self, PgOpenError> {
        let store = Self::connect(settings).await?;
        open::migrate(&store.pool, &settings.connection_string).await?;
        Ok(store)
    }

    /// Applies the embedded migrations and disconnects (`tessera-server migrate`).
    pub async fn migrate_only(settings: &PgSettings) -> Result<(), PgOpenError> {
        let pool = open::pool(
            "datastore.connection_string",
            &settings.connection_string,
            1,
        )
        .await?;
        let result = open::migrate(&pool, &settings.connection_string).await;
        pool.close().await;
        result
    }

    /// Connects without migrating.
    async fn connect(settings: &PgSettings) -> Result<Self, PgOpenError> {
        let pool = open::pool(
            "datastore.connection_string",
            &settings.connection_string,
            settings.max_connections,
        )
        .await?;
        let stale_reads = match &settings.ro_connection_string {
            Some(uri) => {
                open::pool(
                    "datastore.ro_connection_string",
                    uri,
                    settings.max_connections,
                )
                .await?
            }
            None => pool.clone(),
        };
        Ok(Self {
            pool,
            stale_reads,
            clients: Arc::new(ClientCache::new(settings.client_cache_ttl)),
        })
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
        self.stale_reads.close().await;
    }
}
