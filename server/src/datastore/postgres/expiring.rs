//! Short-lived records in one table keyed by (kind, key); every operation is one
//! statement, so concurrency is the row's: an insert that finds a live row changes
//! nothing, an update or delete names the revision it expects.

use super::PgStore;
use super::errors::{db_error, to_i64, to_u64};
use crate::datastore::expiring::check_write;
use crate::datastore::{
    DatastoreError, ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite,
};

const WHAT: &str = "expiring record";

fn kind_code(kind: ExpiringKind) -> i16 {
    i16::from(kind.code())
}

impl ExpiringStore for PgStore {
    async fn create_expiring(
        &self,
        write: ExpiringWrite<'_>,
        now: i64,
    ) -> Result<bool, DatastoreError> {
        check_write(&write)?;
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let created: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO expiring AS e \
               (tenant_id, kind, key, grp, revision, created_at, expires_at, value) \
             VALUES ($7, $1, $2, $3, 1, $4, $5, $6) \
             ON CONFLICT (tenant_id, kind, key) DO UPDATE SET grp = EXCLUDED.grp, revision = 1, \
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, \
               value = EXCLUDED.value \
             WHERE e.expires_at <= $4 \
             RETURNING e.revision",
        )
        .bind(kind_code(write.kind))
        .bind(write.key)
        .bind(write.group)
        .bind(now)
        .bind(write.expires_at)
        .bind(write.value)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        Ok(created.is_some())
    }

    async fn get_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        now: i64,
    ) -> Result<Option<ExpiringRecord>, DatastoreError> {
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let row: Option<(Vec<u8>, i64, i64)> = sqlx::query_as(
            "SELECT value, revision, expires_at FROM expiring \
             WHERE tenant_id = $4 AND kind = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(kind_code(kind))
        .bind(key)
        .bind(now)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        row.map(|(value, revision, expires_at)| {
            Ok(ExpiringRecord {
                value,
                revision: to_u64(WHAT, revision)?,
                expires_at,
            })
        })
        .transpose()
    }

    async fn update_expiring(
        &self,
        write: ExpiringWrite<'_>,
        expected_revision: u64,
    ) -> Result<u64, DatastoreError> {
        check_write(&write)?;
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE expiring SET revision = revision + 1, expires_at = $4, value = $5 \
             WHERE tenant_id = $6 AND kind = $1 AND key = $2 AND revision = $3 \
             RETURNING revision",
        )
        .bind(kind_code(write.kind))
        .bind(write.key)
        .bind(to_i64(WHAT, expected_revision)?)
        .bind(write.expires_at)
        .bind(write.value)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        match row {
            Some((revision,)) => to_u64(WHAT, revision),
            None => Err(DatastoreError::Conflict(WHAT.into())),
        }
    }

    async fn delete_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        expected_revision: Option<u64>,
    ) -> Result<bool, DatastoreError> {
        let expected = expected_revision.map(|r| to_i64(WHAT, r)).transpose()?;
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let done = sqlx::query(
            "DELETE FROM expiring WHERE tenant_id = $4 AND kind = $1 AND key = $2 \
             AND ($3::BIGINT IS NULL OR revision = $3)",
        )
        .bind(kind_code(kind))
        .bind(key)
        .bind(expected)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn group_expiring(
        &self,
        kind: ExpiringKind,
        group: &[u8],
        now: i64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, DatastoreError> {
        if group.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT key FROM expiring WHERE tenant_id = $5 AND kind = $1 AND grp = $2 \
             AND grp <> '' AND expires_at > $3 ORDER BY created_at, key LIMIT $4",
        )
        .bind(kind_code(kind))
        .bind(group)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(self.tenant.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    async fn prune_expiring(&self, now: i64) -> Result<u64, DatastoreError> {
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let done = sqlx::query("DELETE FROM expiring WHERE tenant_id = $2 AND expires_at <= $1")
            .bind(now)
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        Ok(done.rows_affected())
    }
}
