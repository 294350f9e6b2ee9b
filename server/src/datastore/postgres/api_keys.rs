//! API keys, one row per key: the JSON record with its ID, secret hash and owner as
//! columns (primary key, unique index, listing index). Updates lock the row.

use super::PgStore;
use super::errors::{db_error, from_json, has_nul, limit, nul_key, page_of, to_json};
use crate::datastore::{ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError, Page};

const WHAT: &str = "API key";

impl PgStore {
    /// Applies `change` to the key `id` under a row lock; `None` when absent. `change`
    /// returning `None` writes nothing.
    async fn update_api_key(
        &self,
        id: &str,
        change: impl Fn(&ApiKeyRecord) -> Option<ApiKeyRecord>,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        if has_nul(&[id]) {
            return Ok(None);
        }
        let err = |e| db_error(WHAT, e);
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT record FROM api_keys WHERE tenant_id = $2 AND id = $1 FOR UPDATE",
        )
        .bind(id)
        .bind(self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let Some((bytes,)) = row else {
            return Ok(None);
        };
        let current: ApiKeyRecord = from_json(WHAT, &bytes)?;
        let Some(next) = change(&current) else {
            return Ok(Some(current));
        };
        sqlx::query("UPDATE api_keys SET record = $3 WHERE tenant_id = $2 AND id = $1")
            .bind(id)
            .bind(self.tenant.as_str())
            .bind(to_json(WHAT, &next)?)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        Self::done(tx, WHAT).await?;
        Ok(Some(next))
    }
}

impl ApiKeyStore for PgStore {
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), DatastoreError> {
        if has_nul(&[&key.id, &key.secret_hash]) {
            return Err(nul_key(WHAT));
        }
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        sqlx::query(
            "INSERT INTO api_keys (tenant_id, id, secret_hash, owner, record) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.tenant.as_str())
        .bind(&key.id)
        .bind(&key.secret_hash)
        .bind(key.owner.key())
        .bind(to_json(WHAT, key)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&format!("API key {}", key.id), e))?;
        Self::done(tx, WHAT).await
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        self.one_api_key("id", id).await
    }

    async fn find_api_key(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        self.one_api_key("secret_hash", secret_hash).await
    }

    async fn list_api_keys(
        &self,
        owner: Option<&ApiKeyOwner>,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<ApiKeyRecord>, DatastoreError> {
        let owner = owner.map(ApiKeyOwner::key);
        if has_nul(&[page_token, owner.as_deref().unwrap_or_default()]) {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: String::new(),
            });
        }
        let mut tx = self.scoped(&self.stale_reads, WHAT).await?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, record FROM api_keys \
             WHERE tenant_id = $1 AND id > $2 AND ($3::text IS NULL OR owner = $3) \
             ORDER BY id LIMIT $4",
        )
        .bind(self.tenant.as_str())
        .bind(page_token)
        .bind(owner)
        .bind(limit(page_size))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        let rows = rows
            .into_iter()
            .map(|(id, bytes)| Ok((id, from_json(WHAT, &bytes)?)))
            .collect::<Result<Vec<_>, DatastoreError>>()?;
        Ok(page_of(rows, page_size.max(1)))
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        self.update_api_key(id, |k| k.revocation(now)).await
    }

    async fn delete_owner_api_keys(&self, owner: &ApiKeyOwner) -> Result<u64, DatastoreError> {
        let owner = owner.key();
        if has_nul(&[&owner]) {
            return Ok(0);
        }
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let done = sqlx::query("DELETE FROM api_keys WHERE tenant_id = $1 AND owner = $2")
            .bind(self.tenant.as_str())
            .bind(owner)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        Ok(done.rows_affected())
    }

    async fn record_api_key_use(
        &self,
        id: &str,
        at: i64,
        from: Option<&str>,
    ) -> Result<bool, DatastoreError> {
        Ok(self
            .update_api_key(id, |k| k.used(at, from))
            .await?
            .is_some())
    }
}

impl PgStore {
    /// The key whose `column` (`id` or `secret_hash`, never input) is `value`.
    async fn one_api_key(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        if has_nul(&[value]) {
            return Ok(None);
        }
        let sql = match column {
            "id" => "SELECT record FROM api_keys WHERE tenant_id = $2 AND id = $1",
            _ => "SELECT record FROM api_keys WHERE tenant_id = $2 AND secret_hash = $1",
        };
        let mut tx = self.scoped(&self.pool, WHAT).await?;
        let row: Option<(Vec<u8>,)> = sqlx::query_as(sql)
            .bind(value)
            .bind(self.tenant.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error(WHAT, e))?;
        Self::done(tx, WHAT).await?;
        row.map(|(bytes,)| from_json(WHAT, &bytes)).transpose()
    }
}
