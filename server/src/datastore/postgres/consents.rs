//! Remembered consents, one row per (user, client). A write locks the row (or inserts it,
//! retrying when a concurrent first write won the insert), so merges never lose scopes.

use super::PgStore;
use super::errors::{db_error, has_nul, nul_key};
use crate::datastore::{ConsentRecord, ConsentStore, ConsentWrite, DatastoreError};

/// How often a write retries after losing the race to insert the first record.
const PUT_ATTEMPTS: usize = 8;

type ConsentRow = (String, String, Vec<String>, i64, i64);

fn from_row((user_id, client_id, scopes, created_at, updated_at): ConsentRow) -> ConsentRecord {
    ConsentRecord {
        user_id,
        client_id,
        scopes: scopes.into_iter().collect(),
        created_at,
        updated_at,
    }
}

impl ConsentStore for PgStore {
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, DatastoreError> {
        if has_nul(&[user_id, client_id]) {
            return Ok(None);
        }
        let mut tx = self.scoped(&self.pool, "consent").await?;
        let row: Option<ConsentRow> = sqlx::query_as(
            "SELECT user_id, client_id, scopes, created_at, updated_at FROM consents \
             WHERE tenant_id = $3 AND user_id = $1 AND client_id = $2",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("consent", e))?;
        Self::done(tx, "consent").await?;
        Ok(row.map(from_row))
    }

    async fn put_consent(&self, write: &ConsentWrite<'_>) -> Result<ConsentRecord, DatastoreError> {
        if has_nul(&[write.user_id, write.client_id]) {
            return Err(nul_key("consent"));
        }
        let err = |e| db_error("consent", e);
        for _ in 0..PUT_ATTEMPTS {
            let mut tx = self.scoped(&self.pool, "consent").await?;
            let row: Option<ConsentRow> = sqlx::query_as(
                "SELECT user_id, client_id, scopes, created_at, updated_at FROM consents \
                 WHERE tenant_id = $3 AND user_id = $1 AND client_id = $2 FOR UPDATE",
            )
            .bind(write.user_id)
            .bind(write.client_id)
            .bind(self.tenant.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            let existed = row.is_some();
            let record = write.apply(row.map(from_row));
            let scopes: Vec<&String> = record.scopes.iter().collect();
            let done = if existed {
                sqlx::query(
                    "UPDATE consents SET scopes = $3, updated_at = $4 \
                     WHERE tenant_id = $5 AND user_id = $1 AND client_id = $2",
                )
                .bind(write.user_id)
                .bind(write.client_id)
                .bind(&scopes)
                .bind(record.updated_at)
                .bind(self.tenant.as_str())
                .execute(&mut *tx)
                .await
            } else {
                sqlx::query(
                    "INSERT INTO consents \
                       (tenant_id, user_id, client_id, scopes, created_at, updated_at) \
                     VALUES ($6, $1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id, user_id, client_id) DO NOTHING",
                )
                .bind(write.user_id)
                .bind(write.client_id)
                .bind(&scopes)
                .bind(record.created_at)
                .bind(record.updated_at)
                .bind(self.tenant.as_str())
                .execute(&mut *tx)
                .await
            }
            .map_err(err)?;
            if done.rows_affected() == 1 {
                tx.commit().await.map_err(err)?;
                return Ok(record);
            }
        }
        Err(DatastoreError::Conflict(format!(
            "consent of {} for {} changed concurrently",
            write.user_id, write.client_id
        )))
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[user_id, client_id]) {
            return Ok(false);
        }
        let mut tx = self.scoped(&self.pool, "consent").await?;
        let done = sqlx::query(
            "DELETE FROM consents WHERE tenant_id = $3 AND user_id = $1 AND client_id = $2",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("consent", e))?;
        Self::done(tx, "consent").await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_consents(&self, user_id: &str) -> Result<u64, DatastoreError> {
        if has_nul(&[user_id]) {
            return Ok(0);
        }
        let mut tx = self.scoped(&self.pool, "consents").await?;
        let done = sqlx::query("DELETE FROM consents WHERE tenant_id = $2 AND user_id = $1")
            .bind(user_id)
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("consents", e))?;
        Self::done(tx, "consents").await?;
        Ok(done.rows_affected())
    }

    async fn delete_client_consents(&self, client_id: &str) -> Result<u64, DatastoreError> {
        if has_nul(&[client_id]) {
            return Ok(0);
        }
        let mut tx = self.scoped(&self.pool, "consents").await?;
        let done = sqlx::query("DELETE FROM consents WHERE tenant_id = $2 AND client_id = $1")
            .bind(client_id)
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("consents", e))?;
        Self::done(tx, "consents").await?;
        Ok(done.rows_affected())
    }
}
