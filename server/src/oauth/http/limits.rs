//! In-memory state: the revoked-`jti` denylist and the per-client token buckets.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Revoked access-token ids, each kept until the token's own expiry (pruned lazily).
#[derive(Debug, Default)]
pub(crate) struct Denylist {
    entries: Mutex<HashMap<String, SystemTime>>,
}

impl Denylist {
    /// Denies `jti` until `exp`, pruning expired entries first.
    pub(crate) fn insert(&self, jti: &str, exp: SystemTime, now: SystemTime) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, until| *until > now);
        if exp > now {
            entries.insert(jti.to_owned(), exp);
        }
    }

    /// Whether `jti` is revoked at `now`.
    pub(crate) fn contains(&self, jti: &str, now: SystemTime) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(jti).is_some_and(|until| *until > now)
    }

    /// Number of entries held (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: SystemTime,
}

/// Most buckets held (public clients get one per source address).
const MAX_BUCKETS: usize = 100_000;

/// Per-client token buckets: `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter; `rate == 0` disables it.
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for the bucket `client_id` (for a public client: client and source
    /// address) at `now`; `Err(seconds)` says when to retry.
    pub(crate) fn check(&self, client_id: &str, now: SystemTime) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client_id) {
            // Refilled buckets are as good as absent; if that is not enough (a flood of
            // source addresses), start over: that only grants each caller its burst again.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                let idle = now.duration_since(b.last).unwrap_or(Duration::ZERO);
                b.tokens + idle.as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(client_id.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now
            .duration_since(bucket.last)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        if now > bucket.last {
            bucket.last = now;
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.rate).ceil();
            // `wait` is finite and small here (rate >= 1); saturate defensively.
            Err(if wait >= 1.0 { wait as u64 } else { 1 })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_with_time() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let limiter = RateLimiter::new(1, 2);
        assert!(limiter.check("a", t0).is_ok());
        assert!(limiter.check("a", t0).is_ok());
        assert_eq!(limiter.check("a", t0), Err(1));
        assert!(limiter.check("b", t0).is_ok(), "buckets are per client");
        assert!(limiter.check("a", t0 + Duration::from_secs(1)).is_ok());
        assert!(RateLimiter::new(0, 0).check("a", t0).is_ok());
    }

    #[test]
    fn the_bucket_map_stays_bounded() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let full = || {
            let limiter = RateLimiter::new(1, 1);
            for i in 0..MAX_BUCKETS {
                assert!(limiter.check(&format!("c {i}"), t0).is_ok());
            }
            limiter
        };
        let held = |l: &RateLimiter| l.buckets.lock().unwrap().len();
        // Refilled buckets are dropped to make room.
        let limiter = full();
        assert!(limiter.check("fresh", t0 + Duration::from_secs(5)).is_ok());
        assert_eq!(held(&limiter), 1);
        // None refilled (a flood): start over rather than grow.
        let limiter = full();
        assert!(limiter.check("fresh", t0).is_ok());
        assert_eq!(held(&limiter), 1);
        assert!(limiter.check("c 1", t0).is_ok(), "its burst again");
    }

    #[test]
    fn denylist_prunes_expired() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let list = Denylist::default();
        list.insert("j1", t0 + Duration::from_secs(10), t0);
        assert!(list.contains("j1", t0));
        assert!(!list.contains("j1", t0 + Duration::from_secs(10)));
        list.insert(
            "j2",
            t0 + Duration::from_secs(100),
            t0 + Duration::from_secs(20),
        );
        assert_eq!(list.len(), 1, "j1 pruned");
    }
}
