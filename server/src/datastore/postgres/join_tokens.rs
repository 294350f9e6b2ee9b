//! One-time join tokens by SHA-256; taking one is a single `DELETE … RETURNING`, so of
//! concurrent takers exactly one gets it.

use super::PgStore;
use super::errors::{db_error, has_nul, nul_key};
use crate::datastore::{DatastoreError, JoinTokenRecord, JoinTokenStore};

impl JoinTokenStore for PgStore {
    async fn create_join_token(&self, record: &JoinTokenRecord) -> Result<(), DatastoreError> {
        if has_nul(&[&record.token_hash, &record.agent_id]) {
            return Err(nul_key("join token"));
        }
        sqlx::query(
            "INSERT INTO join_tokens (token_hash, expires_at, agent_id) VALUES ($1, $2, $3)",
        )
        .bind(&record.token_hash)
        .bind(record.expires_at)
        .bind(&record.agent_id)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("join token", e))?;
        Ok(())
    }

    async fn take_join_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<JoinTokenRecord>, DatastoreError> {
        if has_nul(&[token_hash]) {
            return Ok(None);
        }
        let row: Option<(i64, String)> = sqlx::query_as(
            "DELETE FROM join_tokens WHERE token_hash = $1 RETURNING expires_at, agent_id",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("join token", e))?;
        Ok(row.map(|(expires_at, agent_id)| JoinTokenRecord {
            token_hash: token_hash.to_owned(),
            expires_at,
            agent_id,
        }))
    }

    async fn prune_join_tokens(&self, now: i64) -> Result<u64, DatastoreError> {
        let done = sqlx::query("DELETE FROM join_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("join tokens", e))?;
        Ok(done.rows_affected())
    }
}
