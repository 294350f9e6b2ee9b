//! User accounts on sled: JSON [`UserRecord`]s keyed by ID in one tree, and the unique
//! username index (`username_key` → ID) in another; every write touching both runs in one
//! multi-tree transaction, so the index never disagrees with the records.

use sled::Transactional as _;

use super::codec::{abort, finish, from_json, to_json};
use super::{SledStore, storage};
use crate::datastore::{DatastoreError, Page, UserRecord, UserStore};

fn encode(user: &UserRecord) -> Result<Vec<u8>, DatastoreError> {
    to_json("user", user)
}

fn decode(bytes: &[u8]) -> Result<UserRecord, DatastoreError> {
    from_json("user", bytes)
}

fn taken(username: &str) -> DatastoreError {
    DatastoreError::AlreadyExists(format!(
        "username {username:?} is already taken (usernames are case-insensitive)"
    ))
}

impl SledStore {
    /// Overwrites a user's record with bytes that do not decode, as disk damage would
    /// (tests).
    #[cfg(test)]
    pub(crate) fn corrupt_user_record(&self, id: &str) -> Result<(), DatastoreError> {
        self.t
            .users
            .insert(id.as_bytes(), b"not a user".as_slice())
            .map_err(storage)?;
        Ok(())
    }
}

impl UserStore for SledStore {
    async fn create_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        let mut stored = user.clone();
        stored.revision = 1;
        let value = encode(&stored)?;
        let id = stored.id.as_bytes();
        let name = stored.username_key.as_bytes();
        let result = (&self.t.users, &self.t.user_names).transaction(|(users, names)| {
            if names.get(name)?.is_some() {
                return Err(abort(taken(&stored.username)));
            }
            if users.get(id)?.is_some() {
                return Err(abort(DatastoreError::AlreadyExists(format!(
                    "user ID {} already exists",
                    stored.id
                ))));
            }
            users.insert(id, value.as_slice())?;
            names.insert(name, id)?;
            Ok(())
        });
        finish(result)?;
        self.flush().await?;
        Ok(stored)
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        self.t
            .users
            .get(id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn get_user_by_username(
        &self,
        username_key: &str,
    ) -> Result<Option<UserRecord>, DatastoreError> {
        let Some(id) = self
            .t
            .user_names
            .get(username_key.as_bytes())
            .map_err(storage)?
        else {
            return Ok(None);
        };
        self.t
            .users
            .get(&id)
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn list_users(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<UserRecord>, DatastoreError> {
        super::paging::page(&self.t.users, page_token, page_size, decode)
    }

    async fn update_user(&self, user: &UserRecord) -> Result<UserRecord, DatastoreError> {
        let mut stored = user.clone();
        stored.revision = user.revision.saturating_add(1);
        let value = encode(&stored)?;
        let id = stored.id.as_bytes();
        let name = stored.username_key.as_bytes();
        let result = (&self.t.users, &self.t.user_names).transaction(|(users, names)| {
            let Some(old) = users.get(id)? else {
                return Err(abort(DatastoreError::NotFound(format!(
                    "no user {}",
                    stored.id
                ))));
            };
            let old = decode(&old).map_err(abort)?;
            if old.revision != user.revision {
                return Err(abort(DatastoreError::Conflict(format!(
                    "user {}",
                    stored.id
                ))));
            }
            if old.username_key != stored.username_key {
                if names.get(name)?.is_some() {
                    return Err(abort(taken(&stored.username)));
                }
                names.remove(old.username_key.as_bytes())?;
                names.insert(name, id)?;
            }
            users.insert(id, value.as_slice())?;
            Ok(())
        });
        finish(result)?;
        self.flush().await?;
        Ok(stored)
    }

    async fn delete_user(&self, id: &str) -> Result<Option<UserRecord>, DatastoreError> {
        let key = id.as_bytes();
        let result = (&self.t.users, &self.t.user_names).transaction(|(users, names)| {
            let Some(old) = users.remove(key)? else {
                return Ok(None);
            };
            let old = decode(&old).map_err(abort)?;
            names.remove(old.username_key.as_bytes())?;
            Ok(Some(old))
        });
        let old = finish(result)?;
        self.flush().await?;
        Ok(old)
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
