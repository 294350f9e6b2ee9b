//! Minted JWT-SVIDs, reused per (entry, audience set) until half their lifetime has passed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;
use tessera_proto::wire::tessera::types::v1::JwtSvid;

/// Most tokens held; past this, stale ones are dropped, then everything if still full.
const MAX_CACHED: usize = 4096;

/// The cache key: an entry and its audience as a set (order and duplicates ignored).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwtKey {
    entry_id: String,
    audience: BTreeSet<String>,
}

impl JwtKey {
    /// The key of `entry_id` with `audience`.
    pub fn new(entry_id: &str, audience: &[String]) -> Self {
        Self {
            entry_id: entry_id.to_owned(),
            audience: audience.iter().cloned().collect(),
        }
    }
}

/// True while `svid` may still be handed out at `now`: before the midpoint of
/// `[issued_at, expires_at]` (seconds).
pub fn is_fresh(svid: &JwtSvid, now: SystemTime) -> bool {
    let half = svid.expires_at.saturating_sub(svid.issued_at) / 2;
    unix_seconds(now) < svid.issued_at.saturating_add(half)
}

/// Cached JWT-SVIDs. Tokens are bearer credentials: `Debug` shows only the count.
#[derive(Default)]
pub struct JwtCache {
    tokens: Mutex<HashMap<JwtKey, JwtSvid>>,
}

impl std::fmt::Debug for JwtCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or_default();
        f.debug_struct("JwtCache").field("tokens", &n).finish()
    }
}

impl JwtCache {
    /// The cached token for `key` if still fresh at `now`.
    pub fn get(&self, key: &JwtKey, now: SystemTime) -> Option<JwtSvid> {
        let tokens = self.tokens.lock().ok()?;
        tokens.get(key).filter(|s| is_fresh(s, now)).cloned()
    }

    /// Remembers `svid` for `key`, dropping stale tokens when the cache is full.
    pub fn put(&self, key: JwtKey, svid: JwtSvid, now: SystemTime) {
        let Ok(mut tokens) = self.tokens.lock() else {
            return;
        };
        if tokens.len() >= MAX_CACHED {
            tokens.retain(|_, s| is_fresh(s, now));
            if tokens.len() >= MAX_CACHED {
                tokens.clear();
            }
        }
        tokens.insert(key, svid);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn svid(issued_at: i64, expires_at: i64) -> JwtSvid {
        JwtSvid {
            spiffe_id: "spiffe://example.org/w".into(),
            token: format!("t{issued_at}"),
            issued_at,
            expires_at,
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn fresh_until_half_life() {
        let s = svid(1000, 1300);
        assert!(is_fresh(&s, at(1000)));
        assert!(is_fresh(&s, at(1149)));
        assert!(!is_fresh(&s, at(1150)));
        assert!(!is_fresh(&s, at(2000)));
        assert!(!is_fresh(&svid(1000, 1000), at(1000)));
    }

    #[test]
    fn key_ignores_audience_order_and_duplicates() {
        let a = JwtKey::new("e1", &["b".into(), "a".into(), "a".into()]);
        assert_eq!(a, JwtKey::new("e1", &["a".into(), "b".into()]));
        assert_ne!(a, JwtKey::new("e2", &["a".into(), "b".into()]));
        assert_ne!(a, JwtKey::new("e1", &["a".into()]));
    }

    #[test]
    fn cache_returns_fresh_tokens_only() {
        let cache = JwtCache::default();
        let key = JwtKey::new("e1", &["a".into()]);
        assert!(cache.get(&key, at(1000)).is_none());
        cache.put(key.clone(), svid(1000, 1300), at(1000));
        assert_eq!(cache.get(&key, at(1100)).unwrap().token, "t1000");
        assert!(cache.get(&key, at(1150)).is_none());
        assert!(!format!("{cache:?}").contains("t1000"));
    }
}
