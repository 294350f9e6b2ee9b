//! OAuth clients on sled: prost-encoded `tessera.admin.v1.OAuthClient` keyed by `client_id`
//! in one tree, JSON [`SecretRecord`]s (hashes only) under the same key in another. Writes
//! touching both run in one multi-tree transaction, and then drop the client from the
//! cache of decoded clients that reads go through.

use std::sync::Arc;

use prost::Message as _;
use sled::Transactional as _;
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::codec::{abort, finish, from_json, to_json};
use super::{SledStore, storage};
use crate::datastore::client_cache::CachedClient;
use crate::datastore::{DatastoreError, OAuthClientStore, Page, SecretRecord};

fn decode(bytes: &[u8]) -> Result<OAuthClient, DatastoreError> {
    OAuthClient::decode(bytes).map_err(|e| DatastoreError::Corrupt(format!("oauth client: {e}")))
}

fn encode_secret(record: &SecretRecord) -> Result<Vec<u8>, DatastoreError> {
    to_json("client secret record", record)
}

fn decode_secret(client_id: &str, bytes: &[u8]) -> Result<SecretRecord, DatastoreError> {
    from_json(&format!("client {client_id} secret"), bytes)
}

impl OAuthClientStore for SledStore {
    async fn create_oauth_client(
        &self,
        client: &OAuthClient,
        secret: Option<&SecretRecord>,
    ) -> Result<(), DatastoreError> {
        let key = client.client_id.as_bytes();
        let value = client.encode_to_vec();
        let secret = secret.map(encode_secret).transpose()?;
        let result = (&self.t.oauth_clients, &self.t.oauth_client_secrets).transaction(
            |(clients, secrets)| {
                if clients.get(key)?.is_some() {
                    return Err(abort(DatastoreError::AlreadyExists(format!(
                        "OAuth client {} already exists",
                        client.client_id
                    ))));
                }
                clients.insert(key, value.as_slice())?;
                match &secret {
                    Some(s) => secrets.insert(key, s.as_slice())?,
                    None => secrets.remove(key)?,
                };
                Ok(())
            },
        );
        let done = finish(result);
        self.t.clients.invalidate(&client.client_id);
        done?;
        self.flush().await
    }

    async fn get_oauth_client(
        &self,
        client_id: &str,
    ) -> Result<Option<OAuthClient>, DatastoreError> {
        Ok(self.read_client(client_id)?.map(|c| c.client.clone()))
    }

    async fn list_oauth_clients(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<OAuthClient>, DatastoreError> {
        super::paging::page(&self.t.oauth_clients, page_token, page_size, decode)
    }

    async fn update_oauth_client(&self, client: &OAuthClient) -> Result<(), DatastoreError> {
        let key = client.client_id.as_bytes();
        let value = client.encode_to_vec();
        let result = self.t.oauth_clients.transaction(|clients| {
            if clients.get(key)?.is_none() {
                return Err(abort(DatastoreError::NotFound(format!(
                    "no OAuth client {}",
                    client.client_id
                ))));
            }
            clients.insert(key, value.as_slice())?;
            Ok(())
        });
        let done = finish(result);
        self.t.clients.invalidate(&client.client_id);
        done?;
        self.flush().await
    }

    async fn delete_oauth_client(&self, client_id: &str) -> Result<bool, DatastoreError> {
        let key = client_id.as_bytes();
        let result = (&self.t.oauth_clients, &self.t.oauth_client_secrets).transaction(
            |(clients, secrets)| {
                secrets.remove(key)?;
                Ok(clients.remove(key)?.is_some())
            },
        );
        let existed = finish(result);
        self.t.clients.invalidate(client_id);
        let existed = existed?;
        self.flush().await?;
        Ok(existed)
    }

    async fn get_client_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<SecretRecord>, DatastoreError> {
        Ok(self.read_client(client_id)?.and_then(|c| c.secret.clone()))
    }

    async fn put_client_secret(
        &self,
        client: &OAuthClient,
        secret: &SecretRecord,
    ) -> Result<(), DatastoreError> {
        let key = client.client_id.as_bytes();
        let value = client.encode_to_vec();
        let secret = encode_secret(secret)?;
        let result = (&self.t.oauth_clients, &self.t.oauth_client_secrets).transaction(
            |(clients, secrets)| {
                if clients.get(key)?.is_none() {
                    return Err(abort(DatastoreError::NotFound(format!(
                        "no OAuth client {}",
                        client.client_id
                    ))));
                }
                clients.insert(key, value.as_slice())?;
                secrets.insert(key, secret.as_slice())?;
                Ok(())
            },
        );
        let done = finish(result);
        self.t.clients.invalidate(&client.client_id);
        done?;
        self.flush().await
    }
}

impl SledStore {
    /// A client with its secret record: from the cache, else read from both trees (and
    /// then cached). Unknown clients are not cached.
    fn read_client(&self, client_id: &str) -> Result<Option<Arc<CachedClient>>, DatastoreError> {
        let ticket = match self.t.clients.get(client_id) {
            Ok(cached) => return Ok(Some(cached)),
            Err(ticket) => ticket,
        };
        let key = client_id.as_bytes();
        let Some(client) = self.t.oauth_clients.get(key).map_err(storage)? else {
            return Ok(None);
        };
        let secret = self.t.oauth_client_secrets.get(key).map_err(storage)?;
        let read = Arc::new(CachedClient {
            client: decode(&client)?,
            secret: secret.map(|v| decode_secret(client_id, &v)).transpose()?,
        });
        self.t.clients.insert(ticket, client_id, Arc::clone(&read));
        Ok(Some(read))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_client_suite_and_keeps_it_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        crate::datastore::oauth_client_store_tests::exercise(&store).await;
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        let listed = reopened.list_oauth_clients("", 100).await.unwrap().items;
        assert_eq!(listed.len(), 4);
        assert_eq!(reopened.get_client_secret("b").await.unwrap(), None);
    }

    /// A deleted tenant's clients stop authenticating through a handle that outlived it,
    /// though that handle had them cached.
    #[tokio::test]
    async fn a_deleted_tenants_cached_clients_are_dropped() {
        use crate::datastore::TenantStore as _;
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let acme = crate::datastore::tenant_store_tests::scoped(&store, "acme").await;
        let client = OAuthClient {
            client_id: "app".into(),
            enabled: true,
            ..Default::default()
        };
        acme.create_oauth_client(&client, None).await.unwrap();
        assert!(acme.get_oauth_client("app").await.unwrap().is_some());
        let id = crate::datastore::TenantId::parse("acme").unwrap();
        assert!(store.delete_tenant(&id).await.unwrap());
        assert!(!matches!(acme.get_oauth_client("app").await, Ok(Some(_))));
    }
}
