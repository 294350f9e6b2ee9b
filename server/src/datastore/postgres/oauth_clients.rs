//! OAuth clients (prost `OAuthClient`) and their secret records (JSON, hashes only) in a
//! separate table that cascades with the client.

use std::sync::Arc;

use prost::Message as _;
use sqlx::PgConnection;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::PgStore;
use super::errors::{db_error, from_json, from_proto, has_nul, limit, nul_key, page_of, to_json};
use crate::datastore::client_cache::CachedClient;
use crate::datastore::{DatastoreError, OAuthClientStore, Page, SecretRecord};

fn no_client(client_id: &str) -> DatastoreError {
    DatastoreError::NotFound(format!("no OAuth client {client_id}"))
}

/// Creates or replaces the secret record of `client_id`.
async fn put_secret(
    conn: &mut PgConnection,
    tenant: &str,
    client_id: &str,
    secret: &SecretRecord,
) -> Result<(), DatastoreError> {
    sqlx::query(
        "INSERT INTO oauth_client_secrets (tenant_id, client_id, data) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, client_id) DO UPDATE SET data = EXCLUDED.data",
    )
    .bind(tenant)
    .bind(client_id)
    .bind(to_json("client secret record", secret)?)
    .execute(conn)
    .await
    .map_err(|e| db_error("OAuth client secret", e))?;
    Ok(())
}

/// Replaces the client; `false` when it does not exist.
async fn replace(
    conn: &mut PgConnection,
    tenant: &str,
    client: &OAuthClient,
) -> Result<bool, DatastoreError> {
    let done =
        sqlx::query("UPDATE oauth_clients SET data = $2 WHERE tenant_id = $3 AND client_id = $1")
            .bind(&client.client_id)
            .bind(client.encode_to_vec())
            .bind(tenant)
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
        let mut tx = self.scoped(&self.pool, "OAuth client").await?;
        sqlx::query("INSERT INTO oauth_clients (tenant_id, client_id, data) VALUES ($1, $2, $3)")
            .bind(self.tenant.as_str())
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
            put_secret(&mut tx, self.tenant.as_str(), &client.client_id, secret).await?;
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
        let mut tx = self.scoped(&self.stale_reads, "OAuth clients").await?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT client_id, data FROM oauth_clients WHERE tenant_id = $1 AND client_id > $2 \
             ORDER BY client_id LIMIT $3",
        )
        .bind(self.tenant.as_str())
        .bind(page_token)
        .bind(limit(page_size))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error("OAuth clients", e))?;
        Self::done(tx, "OAuth clients").await?;
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
        let mut tx = self.scoped(&self.pool, "OAuth client").await?;
        let replaced = match replace(&mut tx, self.tenant.as_str(), client).await {
            Ok(replaced) => Self::done(tx, "OAuth client").await.map(|()| replaced),
            Err(e) => Err(e),
        };
        self.clients.invalidate(&self.cache_key(&client.client_id));
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
        let mut tx = self.scoped(&self.pool, "OAuth client").await?;
        let done = sqlx::query("DELETE FROM oauth_clients WHERE tenant_id = $1 AND client_id = $2")
            .bind(self.tenant.as_str())
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("OAuth client", e));
        let done = match done {
            Ok(done) => Self::done(tx, "OAuth client").await.map(|()| done),
            Err(e) => Err(e),
        };
        self.clients.invalidate(&self.cache_key(client_id));
        Ok(done?.rows_affected() > 0)
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
        let mut tx = self.scoped(&self.pool, "OAuth client").await?;
        if !replace(&mut tx, self.tenant.as_str(), client).await? {
            return Err(no_client(&client.client_id));
        }
        put_secret(&mut tx, self.tenant.as_str(), &client.client_id, secret).await?;
        let committed = tx.commit().await;
        self.clients.invalidate(&self.cache_key(&client.client_id));
        committed.map_err(err)
    }
}

impl PgStore {
    /// The client cache's key: the tenant and the client ID (a client ID is unique only
    /// within its tenant).
    fn cache_key(&self, client_id: &str) -> String {
        format!("{}\0{client_id}", self.tenant.as_str())
    }

    /// A client with its secret record: from this replica's cache while fresh, else in
    /// one round trip (and then cached).
    async fn read_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<CachedClient>>, DatastoreError> {
        if has_nul(&[client_id]) {
            return Ok(None);
        }
        let key = self.cache_key(client_id);
        let ticket = match self.clients.get(&key) {
            Ok(cached) => return Ok(Some(cached)),
            Err(ticket) => ticket,
        };
        let mut tx = self.scoped(&self.pool, "OAuth client").await?;
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT c.data, s.data FROM oauth_clients c \
             LEFT JOIN oauth_client_secrets s \
               ON s.tenant_id = c.tenant_id AND s.client_id = c.client_id \
             WHERE c.tenant_id = $1 AND c.client_id = $2",
        )
        .bind(self.tenant.as_str())
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("OAuth client", e))?;
        Self::done(tx, "OAuth client").await?;
        let Some((client, secret)) = row else {
            return Ok(None);
        };
        let read = Arc::new(CachedClient {
            client: from_proto("oauth client", &client)?,
            secret: secret
                .map(|data| from_json(&format!("client {client_id} secret"), &data))
                .transpose()?,
        });
        self.clients.insert(ticket, &key, Arc::clone(&read));
        Ok(Some(read))
    }
}
