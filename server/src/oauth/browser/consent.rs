//! Remembered consent per (user, client): the scopes a user approved for a client, kept
//! in the datastore (through [`ConsentMemory`]), so restarts and replicas share it.
//!
//! A request for a scope not yet approved asks again. A store failure is logged and never
//! grants anything: reading fails towards asking, and a failed write only means the next
//! request asks again.

use std::sync::Arc;
use std::time::SystemTime;

use super::flow::AUDIT;
use super::ports::ConsentMemory;
use crate::datastore::{ConsentStore, DatastoreError};

/// Forgets every consent of `user_id` (after the user was disabled or deleted) and logs it.
pub async fn forget_user_consents<S: ConsentStore>(
    store: &S,
    user_id: &str,
) -> Result<u64, DatastoreError> {
    let n = store.delete_user_consents(user_id).await?;
    tracing::info!(target: AUDIT, event = "oauth_consents_forgotten", user_id, consents = n);
    Ok(n)
}

/// Forgets every consent given to `client_id` (after the client was deleted) and logs it.
pub async fn forget_client_consents<S: ConsentStore>(
    store: &S,
    client_id: &str,
) -> Result<u64, DatastoreError> {
    let n = store.delete_client_consents(client_id).await?;
    tracing::info!(target: AUDIT, event = "oauth_consents_forgotten", client_id, consents = n);
    Ok(n)
}

/// Remembered consents.
#[derive(Clone)]
pub struct Consents {
    memory: Arc<dyn ConsentMemory>,
}

impl std::fmt::Debug for Consents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consents").finish_non_exhaustive()
    }
}

impl Consents {
    /// Consents remembered in `memory`.
    pub fn new(memory: impl ConsentMemory) -> Self {
        Self {
            memory: Arc::new(memory),
        }
    }

    /// Whether `user_id` already approved every one of `scopes` for `client_id`
    /// (`false` when the store cannot tell).
    pub async fn covers(&self, user_id: &str, client_id: &str, scopes: &[String]) -> bool {
        match self.memory.approved(user_id, client_id).await {
            Ok(approved) => approved.is_some_and(|a| scopes.iter().all(|s| a.contains(s))),
            Err(detail) => {
                tracing::error!(%detail, client_id, "reading a remembered consent");
                false
            }
        }
    }

    /// Remembers that `user_id` approved `scopes` for `client_id` (added to those approved
    /// before).
    pub async fn remember(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: SystemTime,
    ) {
        if let Err(detail) = self.memory.approve(user_id, client_id, scopes, now).await {
            tracing::error!(%detail, client_id, "storing a remembered consent");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::memory::MemoryStore;
    use crate::oauth::browser::StoreConsents;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[tokio::test]
    async fn remembered_scopes_cover_subsets_only() {
        let store = MemoryStore::default();
        let c = Consents::new(StoreConsents(store.clone()));
        let now = SystemTime::UNIX_EPOCH;
        assert!(!c.covers("u", "c", &s(&["openid"])).await);
        assert!(
            !c.covers("u", "c", &s(&[])).await,
            "no consent covers nothing"
        );
        c.remember("u", "c", &s(&["openid", "profile"]), now).await;
        assert!(c.covers("u", "c", &s(&["openid"])).await);
        assert!(c.covers("u", "c", &s(&[])).await);
        assert!(!c.covers("u", "c", &s(&["email"])).await);
        assert!(!c.covers("u", "other", &s(&["openid"])).await);
        assert!(!c.covers("v", "c", &s(&["openid"])).await);
        // Approving more adds to what was approved; another service over the same store
        // (a restart, a replica) sees it.
        c.remember("u", "c", &s(&["email"]), now).await;
        let again = Consents::new(StoreConsents(store));
        assert!(
            again
                .covers("u", "c", &s(&["openid", "profile", "email"]))
                .await
        );
    }

    struct Broken;

    impl ConsentMemory for Broken {
        fn approved<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> crate::oauth::browser::BoxFuture<'a, Result<Option<Vec<String>>, String>> {
            Box::pin(async { Err("down".to_string()) })
        }

        fn approve<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: &'a [String],
            _: SystemTime,
        ) -> crate::oauth::browser::BoxFuture<'a, Result<(), String>> {
            Box::pin(async { Err("down".to_string()) })
        }
    }

    #[tokio::test]
    async fn a_failing_store_means_asking_again() {
        let c = Consents::new(Broken);
        c.remember("u", "c", &s(&["openid"]), SystemTime::UNIX_EPOCH)
            .await;
        assert!(!c.covers("u", "c", &s(&["openid"])).await);
        // Even an empty request is not covered when the store cannot answer.
        assert!(!c.covers("u", "c", &s(&[])).await);
    }
}
