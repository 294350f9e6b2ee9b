//! The users store as the UserInfo endpoint's account reader.

use super::http::{ProfileFuture, UserProfile, UserProfiles};
use crate::datastore::UserStore;

/// Reads accounts by id from the users store; disabled accounts read as absent.
#[derive(Debug, Clone)]
pub struct StoreUserProfiles<S> {
    store: S,
}

impl<S> StoreUserProfiles<S> {
    /// A reader over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: UserStore> UserProfiles for StoreUserProfiles<S> {
    fn profile<'a>(&'a self, id: &'a str) -> ProfileFuture<'a> {
        Box::pin(async move {
            // By id only: `sub` is never looked up as a username.
            let found = self.store.get_user(id).await.map_err(|e| e.to_string())?;
            Ok(found.filter(|u| !u.disabled).map(|u| UserProfile {
                id: u.id,
                username: u.username,
                display_name: u.display_name,
                email: u.email,
                updated_at: u.updated_at,
            }))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::UserRecord;
    use crate::datastore::memory::MemoryStore;

    fn record(id: &str, username: &str, disabled: bool) -> UserRecord {
        UserRecord {
            username: username.into(),
            username_key: username.to_lowercase(),
            display_name: "Alice A.".into(),
            email: "alice@example.test".into(),
            disabled,
            created_at: 1,
            updated_at: 2,
            ..UserRecord::for_test(id)
        }
    }

    #[tokio::test]
    async fn by_id_only_and_disabled_accounts_are_absent() {
        let store = MemoryStore::default();
        store
            .create_user(&record("u1", "alice", false))
            .await
            .unwrap();
        store.create_user(&record("u2", "bob", true)).await.unwrap();
        let profiles = StoreUserProfiles::new(store);
        let alice = profiles.profile("u1").await.unwrap().unwrap();
        assert_eq!(alice.username, "alice");
        assert_eq!(alice.updated_at, 2);
        assert_eq!(profiles.profile("alice").await.unwrap(), None);
        assert_eq!(profiles.profile("u2").await.unwrap(), None);
        assert_eq!(profiles.profile("nobody").await.unwrap(), None);
    }
}
