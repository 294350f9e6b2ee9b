//! [`PgStore`]: the connection pools and start-up (connect, then migrate).

use std::sync::Arc;

use sqlx::postgres::PgPool;

use super::open::{self, PgOpenError, PgSettings, Role};
use crate::datastore::client_cache::ClientCache;
use crate::datastore::{DatastoreError, TenantId, TenantScope};

/// A datastore in a PostgreSQL database shared by every server replica.
#[derive(Clone)]
pub struct PgStore {
    /// Reads and writes that must be current.
    pub(super) pool: PgPool,
    /// Reads that may be stale (admin listings): the `ro_connection_string` pool, else
    /// `pool`.
    pub(super) stale_reads: PgPool,
    /// OAuth clients read recently by this replica (every tenant's, keyed by tenant).
    pub(super) clients: Arc<ClientCache>,
    /// The tenant every tenant-owned statement of this handle is scoped to.
    pub(super) tenant: TenantId,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, then applies the embedded migrations under an advisory lock. A database
    /// migrated by a newer binary is refused ([`PgOpenError::SchemaTooNew`]).
    pub async fn open(settings: &PgSettings) -> Result<Self, PgOpenError> {
        Self::migrate_only(settings).await?;
        let store = Self::connect(settings).await?;
        open::check_row_security(&store.pool).await?;
        Ok(store)
    }

    /// Applies the embedded migrations and disconnects (`tessera-server migrate`).
    pub async fn migrate_only(settings: &PgSettings) -> Result<(), PgOpenError> {
        let pool = open::pool(
            "datastore.connection_string",
            &settings.connection_string,
            1,
            Role::Login,
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
            Role::App,
        )
        .await?;
        let stale_reads = match &settings.ro_connection_string {
            Some(uri) => {
                open::pool(
                    "datastore.ro_connection_string",
                    uri,
                    settings.max_connections,
                    Role::App,
                )
                .await?
            }
            None => pool.clone(),
        };
        Ok(Self {
            pool,
            stale_reads,
            clients: Arc::new(ClientCache::new(settings.client_cache_ttl)),
            tenant: TenantId::default_tenant(),
        })
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
        self.stale_reads.close().await;
    }
}

impl TenantScope for PgStore {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn for_tenant(&self, tenant: &TenantId) -> Result<Self, DatastoreError> {
        Ok(Self {
            tenant: tenant.clone(),
            ..self.clone()
        })
    }
}

impl PgStore {
    /// A transaction on `pool` with this handle's tenant set for its statements
    /// (`set_config('tessera.tenant_id', …, true)`, in the same round trip as `BEGIN`):
    /// row-level security admits only that tenant's rows. The ID is a validated DNS label
    /// ([`TenantId`]), so it is safe as a literal.
    pub(super) async fn scoped(
        &self,
        pool: &PgPool,
        what: &str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, DatastoreError> {
        let begin = format!(
            "BEGIN; SELECT set_config('tessera.tenant_id', '{}', true)",
            self.tenant.as_str()
        );
        pool.begin_with(sqlx::AssertSqlSafe(begin))
            .await
            .map_err(|e| super::errors::db_error(what, e))
    }

    /// Commits a [`Self::scoped`] transaction.
    pub(super) async fn done(
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
        what: &str,
    ) -> Result<(), DatastoreError> {
        tx.commit()
            .await
            .map_err(|e| super::errors::db_error(what, e))
    }
}
