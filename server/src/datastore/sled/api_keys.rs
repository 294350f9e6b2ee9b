//! API keys on sled.
//!
//! Trees: `api_keys` (ID → JSON [`ApiKeyRecord`]) and `api_key_hashes` (secret hash → ID).
//! No sled transactions (see `grants.rs`): a create claims the hash index entry first
//! (compare-and-swap from nothing), then the record; a lost record race gives the hash
//! back. A crash in between leaves at most an index entry naming no record, which a lookup
//! treats as absent. Updates (revoke, use) are compare-and-swap loops over the record.

use super::codec::{from_json, to_json};
use super::paging::page;
use super::{SledStore, storage};
use crate::datastore::{ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError, Page};

/// Compare-and-swap attempts of one update before it reports a conflict.
const UPDATE_ATTEMPTS: usize = 32;

fn encode(record: &ApiKeyRecord) -> Result<Vec<u8>, DatastoreError> {
    to_json("API key", record)
}

fn decode(bytes: &[u8]) -> Result<ApiKeyRecord, DatastoreError> {
    from_json("API key", bytes)
}

impl SledStore {
    /// Applies `change` to the stored key `id` (compare-and-swap); `None` when absent.
    /// `change` returning `None` writes nothing.
    async fn update_api_key(
        &self,
        id: &str,
        change: impl Fn(&ApiKeyRecord) -> Option<ApiKeyRecord>,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(stored) = self.t.api_keys.get(id).map_err(storage)? else {
                return Ok(None);
            };
            let current = decode(&stored)?;
            let Some(next) = change(&current) else {
                return Ok(Some(current));
            };
            let swapped = self
                .t
                .api_keys
                .compare_and_swap(id, Some(stored), Some(encode(&next)?))
                .map_err(storage)?;
            if swapped.is_ok() {
                self.flush().await?;
                return Ok(Some(next));
            }
        }
        Err(DatastoreError::Conflict(format!(
            "API key {id} changed concurrently"
        )))
    }
}

impl ApiKeyStore for SledStore {
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), DatastoreError> {
        let exists = || DatastoreError::AlreadyExists(format!("API key {}", key.id));
        let claimed = self
            .t
            .api_key_hashes
            .compare_and_swap(
                key.secret_hash.as_bytes(),
                None::<&[u8]>,
                Some(key.id.as_bytes()),
            )
            .map_err(storage)?;
        if claimed.is_err() {
            return Err(exists());
        }
        let stored = self
            .t
            .api_keys
            .compare_and_swap(key.id.as_bytes(), None::<&[u8]>, Some(encode(key)?))
            .map_err(storage)?;
        if stored.is_err() {
            self.t
                .api_key_hashes
                .remove(key.secret_hash.as_bytes())
                .map_err(storage)?;
            self.flush().await?;
            return Err(exists());
        }
        self.flush().await
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        self.t
            .api_keys
            .get(id)
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn find_api_key(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        let Some(id) = self.t.api_key_hashes.get(secret_hash).map_err(storage)? else {
            return Ok(None);
        };
        let record = self
            .t
            .api_keys
            .get(&id)
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()?;
        // The index entry of a create that crashed before its record: nothing.
        Ok(record.filter(|r| r.secret_hash == secret_hash))
    }

    async fn list_api_keys(
        &self,
        owner: Option<&ApiKeyOwner>,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<ApiKeyRecord>, DatastoreError> {
        let Some(owner) = owner else {
            return page(&self.t.api_keys, page_token, page_size, decode);
        };
        // Keys per owner are few: a scan filtered by owner, paged by ID.
        let size = page_size.max(1);
        let mut items = Vec::new();
        let start = if page_token.is_empty() {
            std::ops::Bound::Unbounded
        } else {
            std::ops::Bound::Excluded(page_token.as_bytes())
        };
        for kv in self
            .t
            .api_keys
            .range::<&[u8], _>((start, std::ops::Bound::Unbounded))
        {
            let (_, value) = kv.map_err(storage)?;
            let record = decode(&value)?;
            if &record.owner != owner {
                continue;
            }
            if items.len() == size {
                let next_page_token = items
                    .last()
                    .map(|k: &ApiKeyRecord| k.id.clone())
                    .unwrap_or_default();
                return Ok(Page {
                    items,
                    next_page_token,
                });
            }
            items.push(record);
        }
        Ok(Page {
            items,
            next_page_token: String::new(),
        })
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, DatastoreError> {
        self.update_api_key(id, |k| k.revocation(now)).await
    }

    async fn delete_owner_api_keys(&self, owner: &ApiKeyOwner) -> Result<u64, DatastoreError> {
        let mut owned = Vec::new();
        for kv in self.t.api_keys.iter() {
            let (_, value) = kv.map_err(storage)?;
            let record = decode(&value)?;
            if &record.owner == owner {
                owned.push(record);
            }
        }
        // The record first, then its hash entry (a crash between leaves an entry naming no
        // record, which finds nothing).
        for record in &owned {
            self.t.api_keys.remove(&record.id).map_err(storage)?;
            self.t
                .api_key_hashes
                .remove(&record.secret_hash)
                .map_err(storage)?;
        }
        self.flush().await?;
        Ok(owned.len() as u64)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::api_key_store_tests::{exercise, record};

    #[tokio::test]
    async fn sled_passes_the_api_key_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&SledStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn a_hash_entry_without_its_record_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        // What a crash between a create's two writes leaves.
        store.t.api_key_hashes.insert("h", "ak_lost").unwrap();
        assert!(store.find_api_key("h").await.unwrap().is_none());
        let mut key = record("ak_1", ApiKeyOwner::User("u".into()));
        key.secret_hash = "other".into();
        store.create_api_key(&key).await.unwrap();
        assert!(store.find_api_key("other").await.unwrap().is_some());
    }
}
