//! In-memory state: the revoked-`jti` denylist and the token buckets (per confidential
//! client; per public client and source address).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Most revoked `jti`s held at once.
const DENYLIST_CAPACITY: usize = 1_000_000;
/// Most revoked `jti`s of one client held at once (a client revokes only its own tokens,
/// which its rate limit bounds: 50/s × a 10 min token lifetime is 30 000).
const DENYLIST_PER_CLIENT: usize = 100_000;

/// Why a revocation could not be remembered (answered 503: the caller retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DenylistFull {
    /// Every slot holds an unexpired revocation.
    #[error("the revocation denylist is full")]
    Full,
    /// The client holds its whole share of unexpired revocations.
    #[error("the revocation denylist is full for this client")]
    Client,
}

#[derive(Debug, Default)]
struct Revoked {
    /// `jti` → (until, client).
    entries: HashMap<String, (SystemTime, String)>,
    /// Expiry order, for pruning without a scan (entries re-revoked with a later expiry
    /// leave a stale heap item, skipped when popped).
    expiries: BinaryHeap<Reverse<(SystemTime, String)>>,
    per_client: HashMap<String, usize>,
}

impl Revoked {
    /// Drops the entries expired at `now`: O(log n) per dropped entry, nothing scanned.
    fn prune(&mut self, now: SystemTime) {
        while let Some(Reverse((until, _))) = self.expiries.peek() {
            if *until > now {
                break;
            }
            let Some(Reverse((until, jti))) = self.expiries.pop() else {
                break;
            };
            if self.entries.get(&jti).is_some_and(|(u, _)| *u == until)
                && let Some((_, client)) = self.entries.remove(&jti)
                && let Some(n) = self.per_client.get_mut(&client)
            {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_client.remove(&client);
                }
            }
        }
    }
}

/// Revoked access-token ids, each kept until the token's own expiry; bounded in total and
/// per client, pruned in expiry order (never scanned per revocation).
#[derive(Debug, Default)]
pub(crate) struct Denylist {
    inner: Mutex<Revoked>,
}

impl Denylist {
    /// Denies `jti` (a token of `client_id`) until `exp`, pruning expired entries first.
    pub(crate) fn insert(
        &self,
        jti: &str,
        client_id: &str,
        exp: SystemTime,
        now: SystemTime,
    ) -> Result<(), DenylistFull> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.prune(now);
        if exp <= now || inner.entries.contains_key(jti) {
            return Ok(());
        }
        if inner.per_client.get(client_id).copied().unwrap_or(0) >= DENYLIST_PER_CLIENT {
            return Err(DenylistFull::Client);
        }
        if inner.entries.len() >= DENYLIST_CAPACITY {
            return Err(DenylistFull::Full);
        }
        inner
            .entries
            .insert(jti.to_owned(), (exp, client_id.to_owned()));
        inner.expiries.push(Reverse((exp, jti.to_owned())));
        *inner.per_client.entry(client_id.to_owned()).or_default() += 1;
        Ok(())
    }

    /// Whether `jti` is revoked at `now`.
    pub(crate) fn contains(&self, jti: &str, now: SystemTime) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .get(jti)
            .is_some_and(|(until, _)| *until > now)
    }

    /// Number of entries held (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .map(|e| e.entries.len())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: SystemTime,
}

/// Most buckets of public clients held (one per client and source address).
const MAX_PUBLIC_BUCKETS: usize = 100_000;

/// Whose bucket a request takes a token from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum BucketKey {
    /// An authenticated (confidential) client: one bucket per registered client, so the
    /// map is bounded by the registered clients.
    Client(String),
    /// A public client from a source address (IPv6 by its /64: one host usually holds a
    /// whole /64).
    Public(String, IpAddr),
}

impl BucketKey {
    /// The key of a public client `client_id` seen from `source`.
    pub(crate) fn public(client_id: &str, source: IpAddr) -> Self {
        let source = match source {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut octets = v6.octets();
                    octets[8..].fill(0);
                    IpAddr::from(octets)
                }
            },
            v4 => v4,
        };
        Self::Public(client_id.to_owned(), source)
    }
}

/// Token buckets: `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    clients: Mutex<HashMap<BucketKey, Bucket>>,
    public: Mutex<HashMap<BucketKey, Bucket>>,
}

impl RateLimiter {
    /// A limiter; `rate == 0` disables it.
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            clients: Mutex::new(HashMap::new()),
            public: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from the bucket `key` at `now`; `Err(seconds)` says when to retry.
    /// Confidential clients' buckets are never dropped for public ones: when the public
    /// map is full of buckets still in use, a new source address waits (checked before
    /// anything is stored) instead of every caller being forgotten.
    pub(crate) fn check(&self, key: &BucketKey, now: SystemTime) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let map = match key {
            BucketKey::Client(_) => &self.clients,
            BucketKey::Public(..) => &self.public,
        };
        let mut buckets = map.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(key, BucketKey::Public(..))
            && buckets.len() >= MAX_PUBLIC_BUCKETS
            && !buckets.contains_key(key)
        {
            // Refilled buckets are as good as absent.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                let idle = now.duration_since(b.last).unwrap_or(Duration::ZERO);
                b.tokens + idle.as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_PUBLIC_BUCKETS {
                return Err(self.retry_after(0.0));
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
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
            Err(self.retry_after(bucket.tokens))
        }
    }

    /// Whole seconds until a bucket holding `tokens` has one.
    fn retry_after(&self, tokens: f64) -> u64 {
        let wait = ((1.0 - tokens) / self.rate).ceil();
        // `wait` is finite and small here (rate >= 1); saturate defensively.
        if wait >= 1.0 { wait as u64 } else { 1 }
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
        let (a, b) = (client("a"), client("b"));
        assert!(limiter.check(&a, t0).is_ok());
        assert!(limiter.check(&a, t0).is_ok());
        assert_eq!(limiter.check(&a, t0), Err(1));
        assert!(limiter.check(&b, t0).is_ok(), "buckets are per client");
        assert!(limiter.check(&a, t0 + Duration::from_secs(1)).is_ok());
        assert!(RateLimiter::new(0, 0).check(&a, t0).is_ok());
    }

    fn client(id: &str) -> BucketKey {
        BucketKey::Client(id.to_owned())
    }

    fn source(i: usize) -> IpAddr {
        let i = u32::try_from(i).unwrap();
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i))
    }

    /// Issue 11 §11: a flood of source addresses never resets the clients' buckets (it
    /// used to clear every bucket at 100k), and a full public map makes only new sources
    /// wait.
    #[test]
    fn the_public_bucket_map_stays_bounded_without_forgetting_anyone() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let limiter = RateLimiter::new(1, 1);
        assert!(limiter.check(&client("c"), t0).is_ok());
        assert_eq!(limiter.check(&client("c"), t0), Err(1));
        for i in 0..MAX_PUBLIC_BUCKETS {
            assert!(
                limiter
                    .check(&BucketKey::public("spa", source(i)), t0)
                    .is_ok()
            );
        }
        let held = |l: &RateLimiter| l.public.lock().unwrap().len();
        let newcomer = BucketKey::public("spa", source(MAX_PUBLIC_BUCKETS));
        assert_eq!(limiter.check(&newcomer, t0), Err(1), "no room: wait");
        assert_eq!(held(&limiter), MAX_PUBLIC_BUCKETS);
        assert_eq!(
            limiter.check(&BucketKey::public("spa", source(1)), t0),
            Err(1),
            "an existing source keeps its (empty) bucket"
        );
        assert_eq!(
            limiter.check(&client("c"), t0),
            Err(1),
            "the confidential client's bucket was not forgotten"
        );
        // Refilled buckets are dropped to make room.
        let later = t0 + Duration::from_secs(5);
        assert!(limiter.check(&newcomer, later).is_ok());
        assert_eq!(held(&limiter), 1);
    }

    #[test]
    fn ipv6_sources_share_a_bucket_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(BucketKey::public("spa", a), BucketKey::public("spa", b));
        assert_ne!(BucketKey::public("spa", a), BucketKey::public("spa", c));
    }

    #[test]
    fn denylist_prunes_expired() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let list = Denylist::default();
        list.insert("j1", "c", t0 + Duration::from_secs(10), t0)
            .unwrap();
        assert!(list.contains("j1", t0));
        assert!(!list.contains("j1", t0 + Duration::from_secs(10)));
        list.insert(
            "j2",
            "c",
            t0 + Duration::from_secs(100),
            t0 + Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(list.len(), 1, "j1 pruned");
    }

    /// Issue 11 §11: one client's revocations are bounded; another client still revokes.
    #[test]
    fn the_denylist_is_bounded_per_client() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let exp = t0 + Duration::from_secs(600);
        let list = Denylist::default();
        for i in 0..DENYLIST_PER_CLIENT {
            list.insert(&format!("j{i}"), "greedy", exp, t0).unwrap();
        }
        assert_eq!(
            list.insert("one more", "greedy", exp, t0),
            Err(DenylistFull::Client)
        );
        assert_eq!(list.insert("k", "other", exp, t0), Ok(()));
        // Expired entries leave in expiry order; the share frees up.
        let later = exp + Duration::from_secs(1);
        assert_eq!(
            list.insert("one more", "greedy", later + Duration::from_secs(60), later),
            Ok(())
        );
        assert_eq!(list.len(), 1);
    }
}
