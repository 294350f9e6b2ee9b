//! User accounts: JSON `UserRecord` with the ID, the unique lowercase username and the
//! revision as columns. An update is a compare-and-swap on the revision.

use super::PgStore;
use super::errors::{
    db_error, from_json, has_nul, limit, nul_key, page_of, to_i64, to_json, violated_constraint,
};
use crate::datastore::{DatastoreError, Page, UserRecord, UserStore};

pub(super) fn decode(data: &[u8]) -> Result<UserRecord, DatastoreError> {
    from_json("user", data)
}

fn taken(username: &str) -> DatastoreError {
    DatastoreError::AlreadyExists(format!(
        "username {username:?} is already taken (usernames are case-insensitive)"
    ))
}

/// A unique violation as the error the trait promises.
fn duplicate(user: &UserRecord, e: sqlx::Error) -> DatastoreError {
    match violated_constraint(&e).as_deref() {
        Some("users_username_key_key") => taken(&user.username),
        Some(_) => DatastoreError::AlreadyExists(format!("user ID {} already exists", user.id)),
        None => db_error("user", e),
    }
}

impl UserStore for PgStore {
    async fn create_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        if has_nul(&[&user.id, &user.username_key]) {
            return Err(nul_key("user"));
        }
        let mut stored = user.clone();
        stored.revision = 1;
        let mut tx = self.scoped(&self.pool, "user").await?;
        sqlx::query(
            "INSERT INTO users (tenant_id, id, username_key, revision, data) \
             VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(self.tenant.as_str())
        .bind(&stored.id)
        .bind(&stored.username_key)
        .bind(to_json("user", &stored)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate(&stored, e))?;
        Self::done(tx, "user").await?;
        Ok(stored)
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        if has_nul(&[id]) {
            return Ok(None);
        }
        // One round trip: `tessera_get_user` sets the tenant for its own transaction.
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM tessera_get_user($1, $2)")
            .bind(self.tenant.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("user", e))?;
        row.map(|(data,)| decode(&data)).transpose()
    }

    async fn get_user_by_username(
        &self,
        username_key: &str,
    ) -> Result<Option<UserRecord>, DatastoreError> {
        if has_nul(&[username_key]) {
            return Ok(None);
        }
        let mut tx = self.scoped(&self.pool, "user").await?;
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM users WHERE tenant_id = $1 AND username_key = $2")
                .bind(self.tenant.as_str())
                .bind(username_key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error("user", e))?;
        Self::done(tx, "user").await?;
        row.map(|(data,)| decode(&data)).transpose()
    }

    async fn list_users(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<UserRecord>, DatastoreError> {
        if has_nul(&[page_token]) {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: String::new(),
            });
        }
        let mut tx = self.scoped(&self.stale_reads, "users").await?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, data FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(self.tenant.as_str())
        .bind(page_token)
        .bind(limit(page_size))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error("users", e))?;
        Self::done(tx, "users").await?;
        let rows = rows
            .into_iter()
            .map(|(id, data)| decode(&data).map(|u| (id, u)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(rows, page_size.max(1)))
    }

    async fn update_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        if has_nul(&[&user.id, &user.username_key]) {
            return Err(nul_key("user"));
        }
        let mut stored = user.clone();
        stored.revision = user.revision.saturating_add(1);
        let mut tx = self.scoped(&self.pool, "user").await?;
        let done = sqlx::query(
            "UPDATE users SET username_key = $2, revision = $3, data = $4 \
             WHERE tenant_id = $6 AND id = $1 AND revision = $5",
        )
        .bind(&stored.id)
        .bind(&stored.username_key)
        .bind(to_i64("user revision", stored.revision)?)
        .bind(to_json("user", &stored)?)
        .bind(to_i64("user revision", user.revision)?)
        .bind(self.tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate(&stored, e))?;
        Self::done(tx, "user").await?;
        if done.rows_affected() == 1 {
            return Ok(stored);
        }
        // Lost the swap: absent, or changed since it was read.
        match self.get_user(&user.id).await? {
            None => Err(DatastoreError::NotFound(format!("no user {}", user.id))),
            Some(_) => Err(DatastoreError::Conflict(format!("user {}", user.id))),
        }
    }

    async fn delete_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        if has_nul(&[id]) {
            return Ok(None);
        }
        let mut tx = self.scoped(&self.pool, "user").await?;
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("DELETE FROM users WHERE tenant_id = $1 AND id = $2 RETURNING data")
                .bind(self.tenant.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error("user", e))?;
        Self::done(tx, "user").await?;
        row.map(|(data,)| decode(&data)).transpose()
    }
}
