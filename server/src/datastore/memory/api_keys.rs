//! [`ApiKeyStore`] on the in-memory test store.

use super::{MemoryStore, page_map};
use crate::datastore::{ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError, Page};

impl ApiKeyStore for MemoryStore {
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), DatastoreError> {
        let mut inner = self.scoped_lock();
        let clash = inner.api_keys.contains_key(&key.id)
            || inner
                .api_keys
                .values()
                .any(|k| k.secret_hash == key.secret_hash);
        if clash {
            return Err(DatastoreError::AlreadyExists(format!("API key {}", key.id)));
        }
        inner.api_keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        Ok(self.scoped_lock().api_keys.get(id).cloned())
    }

    async fn find_api_key(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        let inner = self.scoped_lock();
        let found = inner
            .api_keys
            .values()
            .find(|k| k.secret_hash == secret_hash);
        Ok(found.cloned())
    }

    async fn list_api_keys(
        &self,
        owner: Option<&ApiKeyOwner>,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<ApiKeyRecord>, DatastoreError> {
        let inner = self.scoped_lock();
        let Some(owner) = owner else {
            return Ok(page_map(&inner.api_keys, page_token, page_size));
        };
        let owned: std::collections::BTreeMap<String, ApiKeyRecord> = inner
            .api_keys
            .iter()
            .filter(|(_, k)| &k.owner == owner)
            .map(|(id, k)| (id.clone(), k.clone()))
            .collect();
        Ok(page_map(&owned, page_token, page_size))
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        let mut inner = self.scoped_lock();
        let Some(key) = inner.api_keys.get_mut(id) else {
            return Ok(None);
        };
        if let Some(next) = key.revocation(now) {
            *key = next;
        }
        Ok(Some(key.clone()))
    }

    async fn delete_owner_api_keys(&self, owner: &ApiKeyOwner) -> Result<u64, DatastoreError> {
        let mut inner = self.scoped_lock();
        let before = inner.api_keys.len();
        inner.api_keys.retain(|_, k| &k.owner != owner);
        Ok((before - inner.api_keys.len()) as u64)
    }

    async fn record_api_key_use(
        &self,
        id: &str,
        at: i64,
        from: Option<&str>,
    ) -> Result<bool, DatastoreError> {
        let mut inner = self.scoped_lock();
        let Some(key) = inner.api_keys.get_mut(id) else {
            return Ok(false);
        };
        if let Some(next) = key.used(at, from) {
            *key = next;
        }
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_passes_the_api_key_store_suite() {
        crate::datastore::api_key_store_tests::exercise(&MemoryStore::default()).await;
    }
}
