//! The token buckets, per replica (per confidential client; per public client and source
//! address). With several replicas each one limits on its own: a client's limit adds up
//! across the replicas a load balancer spreads it over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

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
}
