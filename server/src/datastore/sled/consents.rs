//! Remembered consents on sled.
//!
//! Trees: `consents` (`user_id \0 client_id` → JSON [`ConsentRecord`]) and
//! `consents_by_client` (`client_id \0 user_id` → the record's key).
//!
//! No sled transactions (in sled 0.34 each writes the log twice; see `grants.rs`). Instead
//! a put writes the index entry first and the record last (a compare-and-swap, so
//! concurrent merges lose no scope); a deletion removes the record first and the index
//! entry last. sled's log is recovered as a prefix, so a crash in between leaves at most an
//! index entry of no record (skipped, and removed by the next deletion by client): every
//! record stays reachable from the by-client index. Deletion by user scans the records'
//! own `user_id \0` prefix. IDs are compared with the decoded record, so an ID containing
//! `\0` never matches another's keys.
//!
//! Without a transaction a put racing a deletion by client of the same pair can leave the
//! record without its index entry (the put's index write lands before the deletion, its
//! record after); it then outlives that deletion. Consent is written only when a user
//! approves a client that exists, so this needs an approval and the client's deletion in
//! the same instant.

use super::codec::{from_json, to_json};
use super::keys::{pair, prefix};
use super::{SledStore, storage};
use crate::datastore::{ConsentRecord, ConsentStore, ConsentWrite, DatastoreError};

/// Compare-and-swap attempts of one put before it reports a conflict.
const PUT_ATTEMPTS: usize = 32;

fn encode(record: &ConsentRecord) -> Result<Vec<u8>, DatastoreError> {
    to_json("consent", record)
}

fn decode(bytes: &[u8]) -> Result<ConsentRecord, DatastoreError> {
    from_json("consent", bytes)
}

impl SledStore {
    /// Deletes the record, then its index entry. Not flushed.
    fn remove_consent(&self, user_id: &str, client_id: &str) -> Result<bool, DatastoreError> {
        let existed = self
            .t
            .consents
            .remove(pair(user_id, client_id))
            .map_err(storage)?
            .is_some();
        self.t
            .consents_by_client
            .remove(pair(client_id, user_id))
            .map_err(storage)?;
        Ok(existed)
    }
}

impl ConsentStore for SledStore {
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, DatastoreError> {
        self.t
            .consents
            .get(pair(user_id, client_id))
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn put_consent(&self, write: &ConsentWrite<'_>) -> Result<ConsentRecord, DatastoreError> {
        let key = pair(write.user_id, write.client_id);
        self.t
            .consents_by_client
            .insert(pair(write.client_id, write.user_id), key.as_slice())
            .map_err(storage)?;
        for _ in 0..PUT_ATTEMPTS {
            let stored = self.t.consents.get(&key).map_err(storage)?;
            let current = stored.as_ref().map(|v| decode(v)).transpose()?;
            let record = write.apply(current);
            let swapped = self
                .t
                .consents
                .compare_and_swap(&key, stored, Some(encode(&record)?))
                .map_err(storage)?;
            if swapped.is_ok() {
                self.flush().await?;
                return Ok(record);
            }
        }
        Err(DatastoreError::Conflict(format!(
            "consent of {} for {} changed concurrently",
            write.user_id, write.client_id
        )))
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, DatastoreError> {
        let existed = self.remove_consent(user_id, client_id)?;
        self.flush().await?;
        Ok(existed)
    }

    async fn delete_user_consents(&self, user_id: &str) -> Result<u64, DatastoreError> {
        let mut found = Vec::new();
        for item in self.t.consents.scan_prefix(prefix(user_id)) {
            let (_, value) = item.map_err(storage)?;
            let record = decode(&value)?;
            if record.user_id == user_id {
                found.push(record.client_id);
            }
        }
        let mut removed = 0u64;
        for client_id in found {
            if self.remove_consent(user_id, &client_id)? {
                removed += 1;
            }
        }
        self.flush().await?;
        Ok(removed)
    }

    async fn delete_client_consents(&self, client_id: &str) -> Result<u64, DatastoreError> {
        let mut found = Vec::new();
        for item in self.t.consents_by_client.scan_prefix(prefix(client_id)) {
            let (index_key, record_key) = item.map_err(storage)?;
            found.push((index_key, record_key));
        }
        let mut removed = 0u64;
        for (index_key, record_key) in found {
            let record = self
                .t
                .consents
                .get(&record_key)
                .map_err(storage)?
                .map(|v| decode(&v))
                .transpose()?;
            match record {
                Some(r) if r.client_id == client_id => {
                    if self.remove_consent(&r.user_id, client_id)? {
                        removed += 1;
                    }
                }
                // Another client's entry (an ID containing `\0`): not ours.
                Some(_) => continue,
                // Left by a crash between a put's two writes.
                None => {
                    self.t
                        .consents_by_client
                        .remove(index_key)
                        .map_err(storage)?;
                }
            }
        }
        self.flush().await?;
        Ok(removed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::ScopeUpdate;
    use crate::datastore::consent_store_tests::{exercise, put};

    #[tokio::test]
    async fn sled_passes_the_consent_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&SledStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn consents_and_their_index_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, ("u", "c"), &["openid"], ScopeUpdate::Merge, 5).await;
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        let got = reopened.get_consent("u", "c").await.unwrap().unwrap();
        assert_eq!(got.scopes.len(), 1);
        assert_eq!(reopened.delete_client_consents("c").await.unwrap(), 1);
        assert!(reopened.get_consent("u", "c").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_index_entry_without_its_record_is_skipped_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        // What a crash between a put's index write and its record write leaves.
        store
            .t
            .consents_by_client
            .insert(pair("c", "u"), pair("u", "c"))
            .unwrap();
        assert_eq!(store.delete_client_consents("c").await.unwrap(), 0);
        assert!(store.t.consents_by_client.is_empty());
    }
}
