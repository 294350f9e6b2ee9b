//! Remembered consent per (user, client): the scopes a user approved for a client. Kept in
//! this process's memory (a restart asks again; replicas ask separately).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Most (user, client) pairs remembered; beyond it the memory is cleared (users are
/// asked again, nothing is granted by mistake).
const CAPACITY: usize = 100_000;

/// Remembered consents.
#[derive(Debug, Default)]
pub struct Consents {
    map: Mutex<HashMap<(String, String), BTreeSet<String>>>,
}

impl Consents {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), BTreeSet<String>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `user_id` already approved every one of `scopes` for `client_id`.
    pub fn covers(&self, user_id: &str, client_id: &str, scopes: &[String]) -> bool {
        self.lock()
            .get(&(user_id.to_owned(), client_id.to_owned()))
            .is_some_and(|approved| scopes.iter().all(|s| approved.contains(s)))
    }

    /// Remembers that `user_id` approved `scopes` for `client_id`.
    pub fn remember(&self, user_id: &str, client_id: &str, scopes: &[String]) {
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.entry((user_id.to_owned(), client_id.to_owned()))
            .or_default()
            .extend(scopes.iter().cloned());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn remembered_scopes_cover_subsets_only() {
        let c = Consents::default();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!c.covers("u", "c", &s(&["openid"])));
        c.remember("u", "c", &s(&["openid", "profile"]));
        assert!(c.covers("u", "c", &s(&["openid"])));
        assert!(c.covers("u", "c", &s(&[])));
        assert!(!c.covers("u", "c", &s(&["email"])));
        assert!(!c.covers("u", "other", &s(&["openid"])));
        assert!(!c.covers("v", "c", &s(&["openid"])));
    }
}
