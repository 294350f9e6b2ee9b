//! [`ConsentStore`] on the in-memory test store (one mutex: every operation is atomic).

use super::MemoryStore;
use crate::datastore::{ConsentRecord, ConsentStore, ConsentWrite, DatastoreError};

fn key(user_id: &str, client_id: &str) -> (String, String) {
    (user_id.to_owned(), client_id.to_owned())
}

impl ConsentStore for MemoryStore {
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, DatastoreError> {
        Ok(self
            .scoped_lock()
            .consents
            .get(&key(user_id, client_id))
            .cloned())
    }

    async fn put_consent(&self, write: &ConsentWrite<'_>) -> Result<ConsentRecord, DatastoreError> {
        let mut inner = self.scoped_lock();
        let key = key(write.user_id, write.client_id);
        let record = write.apply(inner.consents.remove(&key));
        inner.consents.insert(key, record.clone());
        Ok(record)
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, DatastoreError> {
        Ok(self
            .scoped_lock()
            .consents
            .remove(&key(user_id, client_id))
            .is_some())
    }

    async fn delete_user_consents(&self, user_id: &str) -> Result<u64, DatastoreError> {
        let mut inner = self.scoped_lock();
        let before = inner.consents.len();
        inner.consents.retain(|(user, _), _| user != user_id);
        Ok((before - inner.consents.len()) as u64)
    }

    async fn delete_client_consents(&self, client_id: &str) -> Result<u64, DatastoreError> {
        let mut inner = self.scoped_lock();
        let before = inner.consents.len();
        inner.consents.retain(|(_, client), _| client != client_id);
        Ok((before - inner.consents.len()) as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_passes_the_consent_store_suite() {
        crate::datastore::consent_store_tests::exercise(&MemoryStore::default()).await;
    }
}
