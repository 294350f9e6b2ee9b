//! [`UserStore`] on the in-memory test store.

use super::{MemoryStore, page_map};
use crate::datastore::{DatastoreError, Page, UserRecord, UserStore};

fn taken(username: &str) -> DatastoreError {
    DatastoreError::AlreadyExists(format!(
        "username {username:?} is already taken (usernames are case-insensitive)"
    ))
}

impl UserStore for MemoryStore {
    async fn create_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        let mut inner = self.scoped_lock();
        if inner.user_names.contains_key(&user.username_key) {
            return Err(taken(&user.username));
        }
        if inner.users.contains_key(&user.id) {
            return Err(DatastoreError::AlreadyExists(format!(
                "user ID {} already exists",
                user.id
            )));
        }
        let mut stored = user.clone();
        stored.revision = 1;
        inner
            .user_names
            .insert(stored.username_key.clone(), stored.id.clone());
        inner.users.insert(stored.id.clone(), stored.clone());
        Ok(stored)
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        Ok(self.scoped_lock().users.get(id).cloned())
    }

    async fn get_user_by_username(
        &self,
        username_key: &str,
    ) -> Result<Option<UserRecord>, DatastoreError> {
        let inner = self.scoped_lock();
        let id = inner.user_names.get(username_key);
        Ok(id.and_then(|id| inner.users.get(id)).cloned())
    }

    async fn list_users(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<UserRecord>, DatastoreError> {
        Ok(page_map(&self.scoped_lock().users, page_token, page_size))
    }

    async fn update_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        let mut inner = self.scoped_lock();
        let Some(old) = inner.users.get(&user.id) else {
            return Err(DatastoreError::NotFound(format!("no user {}", user.id)));
        };
        if old.revision != user.revision {
            return Err(DatastoreError::Conflict(format!("user {}", user.id)));
        }
        let old_key = old.username_key.clone();
        if old_key != user.username_key {
            if inner.user_names.contains_key(&user.username_key) {
                return Err(taken(&user.username));
            }
            inner.user_names.remove(&old_key);
            inner
                .user_names
                .insert(user.username_key.clone(), user.id.clone());
        }
        let mut stored = user.clone();
        stored.revision = user.revision.saturating_add(1);
        inner.users.insert(stored.id.clone(), stored.clone());
        Ok(stored)
    }

    async fn delete_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        let mut inner = self.scoped_lock();
        let old = inner.users.remove(id);
        if let Some(old) = &old {
            inner.user_names.remove(&old.username_key);
        }
        Ok(old)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_passes_the_user_store_suite() {
        crate::datastore::user_store_tests::exercise(&MemoryStore::default()).await;
    }
}
