//! Grants (refresh-token families) as columns, refresh tokens by hash in their own table
//! (ON DELETE CASCADE from the grant: deleting a grant kills its whole family at once).
//!
//! Rotation is one call of `tessera_rotate_refresh_token` (migration 0009: it sets the
//! tenant, then runs one statement; one round trip, one implicit transaction): an `UPDATE
//! … WHERE generation = $expected AND` the presented hash is that generation's token
//! (`EXISTS`), and in a data-modifying CTE the insert of the new hash for the row it
//! updated. Concurrent rotations of one token queue on the grant's row lock; PostgreSQL
//! re-checks the `WHERE` on the row the winner committed, so every other one updates
//! nothing: exactly one wins.

use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::PgStore;
use super::errors::{db_error, has_nul, nul_key, to_i64, to_u64};
use super::users::decode as decode_user;
use crate::datastore::{
    DatastoreError, GrantRecord, GrantStore, RefreshRead, RefreshReads, RefreshTokenRecord,
    Rotation,
};

/// The grant columns, in [`GrantRow`] order.
type GrantRow = (
    String,
    String,
    String,
    Vec<String>,
    i64,
    Vec<String>,
    i64,
    i64,
    i64,
    i64,
);

fn from_row(row: GrantRow) -> Result<GrantRecord, DatastoreError> {
    let (
        grant_id,
        user_id,
        client_id,
        scopes,
        auth_time,
        amr,
        created_at,
        expires_at,
        generation,
        rotated_at,
    ) = row;
    Ok(GrantRecord {
        grant_id,
        user_id,
        client_id,
        scopes,
        auth_time,
        amr,
        created_at,
        expires_at,
        generation: to_u64("grant generation", generation)?,
        rotated_at,
    })
}

impl GrantStore for PgStore {
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        token_hash: &str,
    ) -> Result<(), DatastoreError> {
        if has_nul(&[
            &grant.grant_id,
            &grant.user_id,
            &grant.client_id,
            token_hash,
        ]) {
            return Err(nul_key("grant"));
        }
        let exists = || DatastoreError::AlreadyExists(format!("grant {}", grant.grant_id));
        let map = |e| match db_error("grant", e) {
            DatastoreError::AlreadyExists(_) => exists(),
            other => other,
        };
        let generation = to_i64("grant generation", grant.generation)?;
        let mut tx = self.scoped(&self.pool, "grant").await?;
        sqlx::query(
            "INSERT INTO grants (grant_id, user_id, client_id, scopes, auth_time, amr, \
             created_at, expires_at, generation, rotated_at, tenant_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&grant.grant_id)
        .bind(&grant.user_id)
        .bind(&grant.client_id)
        .bind(&grant.scopes)
        .bind(grant.auth_time)
        .bind(&grant.amr)
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .bind(generation)
        .bind(grant.rotated_at)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, generation, tenant_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(&grant.grant_id)
        .bind(generation)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        tx.commit().await.map_err(map)
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRecord, Option<GrantRecord>)>, DatastoreError> {
        if has_nul(&[token_hash]) {
            return Ok(None);
        }
        let row = self.refresh_token_row(token_hash).await?;
        row.map(|row| token_and_grant(&row)).transpose()
    }

    async fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>, DatastoreError> {
        if has_nul(&[grant_id]) {
            return Ok(None);
        }
        let mut tx = self.scoped(&self.pool, "grant").await?;
        let row: Option<GrantRow> = sqlx::query_as(
            "SELECT grant_id, user_id, client_id, scopes, auth_time, amr, created_at, \
             expires_at, generation, rotated_at FROM grants \
             WHERE tenant_id = $2 AND grant_id = $1",
        )
        .bind(grant_id)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("grant", e))?;
        Self::done(tx, "grant").await?;
        row.map(from_row).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<Option<GrantRecord>, DatastoreError> {
        if has_nul(&[rotation.grant_id, rotation.old_hash, rotation.new_hash]) {
            return Ok(None);
        }
        let expected = to_i64("grant generation", rotation.expected_generation)?;
        let next = to_i64(
            "grant generation",
            rotation.expected_generation.saturating_add(1),
        )?;
        // One call, so one round trip and one implicit transaction
        // (`tessera_rotate_refresh_token` sets the tenant for it): the generation swap and
        // the new token's row commit together or not at all.
        let row: Option<GrantRow> = sqlx::query_as(
            "SELECT * FROM tessera_rotate_refresh_token($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.tenant.as_str())
        .bind(rotation.grant_id)
        .bind(expected)
        .bind(next)
        .bind(rotation.now)
        .bind(rotation.old_hash)
        .bind(rotation.new_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| match db_error("refresh token", e) {
            DatastoreError::AlreadyExists(_) => {
                DatastoreError::AlreadyExists("refresh token hash".into())
            }
            other => other,
        })?;
        // None: another rotation or a deletion came first (or the token is not current).
        row.map(from_row).transpose()
    }

    async fn delete_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[grant_id]) {
            return Ok(false);
        }
        let mut tx = self.scoped(&self.pool, "grant").await?;
        let done = sqlx::query("DELETE FROM grants WHERE tenant_id = $2 AND grant_id = $1")
            .bind(grant_id)
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("grant", e))?;
        Self::done(tx, "grant").await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_grants(&self, user_id: &str) -> Result<u64, DatastoreError> {
        self.delete_grants_where(
            "DELETE FROM grants WHERE tenant_id = $2 AND user_id = $1",
            user_id,
        )
        .await
    }

    async fn delete_client_grants(&self, client_id: &str) -> Result<u64, DatastoreError> {
        self.delete_grants_where(
            "DELETE FROM grants WHERE tenant_id = $2 AND client_id = $1",
            client_id,
        )
        .await
    }

    async fn prune_grants(&self, now: i64, idle_secs: i64) -> Result<u64, DatastoreError> {
        // `now >= rotated_at + idle` without overflow.
        let idle_before = now.saturating_sub(idle_secs);
        let mut tx = self.scoped(&self.pool, "grants").await?;
        let done = sqlx::query(
            "DELETE FROM grants WHERE tenant_id = $3 AND (expires_at <= $1 OR rotated_at <= $2)",
        )
        .bind(now)
        .bind(idle_before)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("grants", e))?;
        Self::done(tx, "grants").await?;
        Ok(done.rows_affected())
    }
}

impl PgStore {
    /// The row of `tessera_find_refresh_token_and_user` for `token_hash`: one round trip
    /// (the function sets the tenant for its own transaction).
    async fn refresh_token_row(&self, token_hash: &str) -> Result<Option<PgRow>, DatastoreError> {
        sqlx::query("SELECT * FROM tessera_find_refresh_token_and_user($1, $2)")
            .bind(self.tenant.as_str())
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("refresh token", e))
    }
}

/// The token and, when it still exists, its grant, from a row of
/// `tessera_find_refresh_token_and_user`.
fn token_and_grant(
    row: &PgRow,
) -> Result<(RefreshTokenRecord, Option<GrantRecord>), DatastoreError> {
    let read = |e| db_error("refresh token", e);
    let token = RefreshTokenRecord {
        grant_id: row.try_get("token_grant_id").map_err(read)?,
        generation: to_u64(
            "refresh token generation",
            row.try_get("token_generation").map_err(read)?,
        )?,
    };
    let grant = match row.try_get::<Option<String>, _>("grant_id").map_err(read)? {
        None => None,
        Some(grant_id) => Some(from_row((
            grant_id,
            row.try_get("user_id").map_err(read)?,
            row.try_get("client_id").map_err(read)?,
            row.try_get("scopes").map_err(read)?,
            row.try_get("auth_time").map_err(read)?,
            row.try_get("amr").map_err(read)?,
            row.try_get("created_at").map_err(read)?,
            row.try_get("expires_at").map_err(read)?,
            row.try_get("generation").map_err(read)?,
            row.try_get("rotated_at").map_err(read)?,
        ))?),
    };
    Ok((token, grant))
}

impl RefreshReads for PgStore {
    async fn find_refresh_token_and_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshRead>, DatastoreError> {
        if has_nul(&[token_hash]) {
            return Ok(None);
        }
        let Some(row) = self.refresh_token_row(token_hash).await? else {
            return Ok(None);
        };
        let (token, grant) = token_and_grant(&row)?;
        let Some(grant) = grant else {
            return Ok(Some((token, None)));
        };
        let user = row
            .try_get::<Option<Vec<u8>>, _>("user_data")
            .map_err(|e| db_error("user", e))
            .and_then(|data| data.map(|data| decode_user(&data)).transpose());
        Ok(Some((token, Some((grant, user)))))
    }
}

/// Runs `sql` (a `DELETE FROM grants WHERE <owner> = $1`) for `owner`; a NUL byte cannot be
/// stored, so such an owner has no grants.
impl PgStore {
    /// Deletes this tenant's grants of one owner (`sql` binds the owner as `$1`, the
    /// tenant as `$2`).
    async fn delete_grants_where(
        &self,
        sql: &'static str,
        owner: &str,
    ) -> Result<u64, DatastoreError> {
        if has_nul(&[owner]) {
            return Ok(0);
        }
        let mut tx = self.scoped(&self.pool, "grants").await?;
        let done = sqlx::query(sql)
            .bind(owner)
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("grants", e))?;
        Self::done(tx, "grants").await?;
        Ok(done.rows_affected())
    }
}
