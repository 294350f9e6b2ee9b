//! OAuth clients (prost `OAuthClient`) and their secret records (JSON, hashes only) in a
//! separate table that cascades with the client.

use std::sync::Arc;

use prost::Message as _;
use sqlx::PgConnection;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::PgStore;
use super::client_cache::CachedClient;
use super::errors::{db_error, from_json, from_proto, has_nul, limit, nul_key, page_of, to_json};
use crate::datastore::{DatastoreError, OAuthClientStore, Page, SecretRecord};

fn no_client(client_id: &str) -> DatastoreError {
    DatastoreError::NotFound(format!("no OAuth client {client_id}"))
}

/// Creates or replaces the secret record of `client_id`.
async fn put_secret(
    conn: &mut PgConnection,
    client_id: &str,
    secret: &SecretRecord,
) -> Result<(), DatastoreError> {
    sqlx::query(
        "INSERT INTO oauth_client_secrets (client_id, data) VALUES ($1, $2) \
         ON CONFLICT (client_id) DO UPDATE SET data = EXCLUDED.data",
    )
    .bind(client_id)
    .bind(to_json("client secret record", secret)?)
    .execute(conn)
    .await
    .map_err(|e| db_error("OAuth client secret", e))?;
    Ok(())
}

/// Replaces the client; `false` when it does not exist.
async fn replace(conn: &mut PgConnection, client: &OAuthClient) -> Result<bool, DatastoreError> {
    let done = sqlx::query("UPDATE oauth_clients SET data = $2 WHERE client_id = $1")
        .bind(&client.client_id)
        .bind(client.encode_to_vec())
        .execute(conn)
        .await
        .map_err(|e| db_error("OAuth client", e))?;
    Ok(done.rows_affected() == 1)
}

impl OAuthClientStore for PgStore {
    async fn create_oauth_client(
        &self,
        client: &OAuthClient,
        secret: Option<&SecretRecord>,
    ) -> Result<(), DatastoreError> {
        if has_nul(&[&client.client_id]) {
            return Err(nul_key("OAuth client"));
        }
        let err = |e| db_error("OAuth client", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("INSERT INTO oauth_clients (client_id, data) VALUES ($1, $2)")
            .bind(&client.client_id)
            .bind(client.encode_to_vec())
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_error("OAuth client", e) {
                DatastoreError::AlreadyExists(_) => DatastoreError::AlreadyExists(format!(
                    "OAuth client {} already exists",
                    client.client_id
                )),
                other => other,
            })?;
        if let Some(secret) = secret {
            put_secret(&mut tx, &client.client_id, secret).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn get_oauth_client(
        &self,
        client_id: &str,
    ) -> Result<Option<OAuthClient>, DatastoreError> {
        Ok(self.read_client(client_id).await?.map(|c| c.client.clone()))
    }

    async fn list_oauth_clients(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<OAuthClient>, DatastoreError> {
        if has_nul(&[page_token]) {
            return Ok(Page::default());
        }
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT client_id, data FROM oauth_clients WHERE client_id > $1 \
             ORDER BY client_id LIMIT $2",
        )
        .bind(page_token)
        .bind(limit(page_size))
        .fetch_all(&self.stale_reads)
        .await
        .map_err(|e| db_error("OAuth clients", e))?;
        let rows = rows
            .into_iter()
            .map(|(id, data)| from_proto("oauth client", &data).map(|c| (id, c)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(rows, page_size.max(1)))
    }

    async fn update_oauth_client(&self, client: &OAuthClient) -> Result<(), DatastoreError> {
        if has_nul(&[&client.client_id]) {
            return Err(no_client(&client.client_id));
        }
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_error("OAuth client", e))?;
        let replaced = replace(&mut conn, client).await;
        self.clients.invalidate(&client.client_id);
        if replaced? {
            Ok(())
        } else {
            Err(no_client(&client.client_id))
        }
    }

    async fn delete_oauth_client(&self, client_id: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[client_id]) {
            return Ok(false);
        }
        // The secret record goes with it (ON DELETE CASCADE), in the same statement.
        let done = sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await;
        self.clients.invalidate(client_id);
        let done = done.map_err(|e| db_error("OAuth client", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_client_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<SecretRecord>, DatastoreError> {
        Ok(self
            .read_client(client_id)
            .await?
            .and_then(|c| c.secret.clone()))
    }

    async fn put_client_secret(
        &self,
        client: &OAuthClient,
        secret: &SecretRecord,
    ) -> Result<(), DatastoreError> {
        if has_nul(&[&client.client_id]) {
            return Err(no_client(&client.client_id));
        }
        let err = |e| db_error("OAuth client", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        if !replace(&mut tx, client).await? {
            return Err(no_client(&client.client_id));
        }
        put_secret(&mut tx, &client.client_id, secret).await?;
        let committed = tx.commit().await;
        self.clients.invalidate(&client.client_id);
        committed.map_err(err)
    }
}

impl PgStore {
    /// A client with its secret record: from this replica's cache while fresh, else in
    /// one round trip (and then cached).
    async fn read_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<CachedClient>>, DatastoreError> {
        if has_nul(&[client_id]) {
            return Ok(None);
        }
        let ticket = match self.clients.get(client_id) {
            Ok(cached) => return Ok(Some(cached)),
            Err(ticket) => ticket,
        };
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT c.data, s.data FROM oauth_clients c \
             LEFT JOIN oauth_client_secrets s ON s.client_id = c.client_id \
             WHERE c.client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("OAuth client", e))?;
        let Some((client, secret)) = row else {
            return Ok(None);
        };
        let read = Arc::new(CachedClient {
            client: from_proto("oauth client", &client)?,
            secret: secret
                .map(|data| from_json(&format!("client {client_id} secret"), &data))
                .transpose()?,
        });
        self.clients.insert(ticket, client_id, Arc::clone(&read));
        Ok(Some(read))
    }
}
