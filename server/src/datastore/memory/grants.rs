//! [`GrantStore`] on the in-memory test store (one mutex: every operation is atomic).

use super::MemoryStore;
use crate::datastore::{DatastoreError, GrantRecord, GrantStore, RefreshTokenRecord, Rotation};

impl super::Inner {
    fn remove_grant(&mut self, grant_id: &str) -> bool {
        self.refresh_tokens.retain(|_, t| t.grant_id != grant_id);
        self.grants.remove(grant_id).is_some()
    }

    /// Removes every grant matching `doomed`; returns how many.
    fn remove_where(&mut self, doomed: impl Fn(&GrantRecord) -> bool) -> u64 {
        let ids: Vec<String> = self
            .grants
            .values()
            .filter(|g| doomed(g))
            .map(|g| g.grant_id.clone())
            .collect();
        ids.iter().filter(|id| self.remove_grant(id)).count() as u64
    }
}

/// The default: the token with its grant, then the user.
impl crate::datastore::RefreshReads for MemoryStore {}

impl GrantStore for MemoryStore {
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        token_hash: &str,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.scoped_lock();
        if inner.grants.contains_key(&grant.grant_id)
            || inner.refresh_tokens.contains_key(token_hash)
        {
            return Err(DatastoreError::AlreadyExists(format!(
                "grant {}",
                grant.grant_id
            )));
        }
        inner.grants.insert(grant.grant_id.clone(), grant.clone());
        inner.refresh_tokens.insert(
            token_hash.to_owned(),
            RefreshTokenRecord {
                grant_id: grant.grant_id.clone(),
                generation: grant.generation,
            },
        );
        Ok(())
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRecord, Option<GrantRecord>)>, DatastoreError> {
        let inner = self.scoped_lock();
        Ok(inner.refresh_tokens.get(token_hash).map(|t| {
            let grant = inner.grants.get(&t.grant_id).cloned();
            (t.clone(), grant)
        }))
    }

    async fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>, DatastoreError> {
        Ok(self.scoped_lock().grants.get(grant_id).cloned())
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<Option<GrantRecord>, DatastoreError> {
        let mut inner = self.scoped_lock();
        let current = inner
            .refresh_tokens
            .get(rotation.old_hash)
            .is_some_and(|t| {
                t.grant_id == rotation.grant_id && t.generation == rotation.expected_generation
            });
        let Some(grant) = inner.grants.get_mut(rotation.grant_id) else {
            return Ok(None);
        };
        if !current || grant.generation != rotation.expected_generation {
            return Ok(None);
        }
        grant.generation += 1;
        grant.rotated_at = rotation.now;
        let updated = grant.clone();
        inner.refresh_tokens.insert(
            rotation.new_hash.to_owned(),
            RefreshTokenRecord {
                grant_id: updated.grant_id.clone(),
                generation: updated.generation,
            },
        );
        Ok(Some(updated))
    }

    async fn delete_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        Ok(self.scoped_lock().remove_grant(grant_id))
    }

    async fn delete_user_grants(&self, user_id: &str) -> Result<u64, DatastoreError> {
        Ok(self.scoped_lock().remove_where(|g| g.user_id == user_id))
    }

    async fn delete_client_grants(&self, client_id: &str) -> Result<u64, DatastoreError> {
        Ok(self
            .scoped_lock()
            .remove_where(|g| g.client_id == client_id))
    }

    async fn prune_grants(&self, now: i64, idle_secs: i64) -> Result<u64, DatastoreError> {
        Ok(self.scoped_lock().remove_where(|g| g.ended(now, idle_secs)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_passes_the_grant_store_suite() {
        crate::datastore::grant_store_tests::exercise(&MemoryStore::default()).await;
        crate::datastore::grant_store_tests::exercise_refresh_reads(&MemoryStore::default()).await;
    }
}
