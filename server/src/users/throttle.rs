//! Login throttling as pure functions of `now`: per-account exponential backoff after a
//! few free failures, and per-source token buckets of failures (in memory).
//!
//! Every username's counters are kept here in memory, whether or not the account exists,
//! so the decisions (and when they change) are the same for both; existing accounts also
//! persist theirs in the stored record (written after the answer, so a failure costs the
//! same time for both), and the stored counters are merged in on every check (restarts,
//! other replicas). One attempt per username runs at a time: concurrent guesses cannot all
//! pass the check before the first failure is recorded.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use crate::datastore::LoginCounters;

/// Most entries each in-memory map keeps (beyond it, idle entries are dropped first).
const MAX_TRACKED: usize = 100_000;

/// How long to wait before trying again (whole seconds, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    /// Seconds.
    pub seconds: u64,
}

/// Throttling parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per account before any delay.
    pub free_failures: u32,
    /// The first delay, doubled on every further failure.
    pub base_delay_secs: i64,
    /// The longest delay.
    pub max_delay_secs: i64,
    /// Failures a source may make in a burst.
    pub source_burst: u32,
    /// Seconds for a source to earn back one failure.
    pub source_refill_secs: i64,
}

impl Default for ThrottlePolicy {
    /// 5 free failures, then 1 s, 2 s, 4 s, … capped at 15 min; a source may fail 20 times
    /// in a burst and earns one more try every 6 s (10 a minute).
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay_secs: 1,
            max_delay_secs: 15 * 60,
            source_burst: 20,
            source_refill_secs: 6,
        }
    }
}

impl ThrottlePolicy {
    /// The delay after the `failures`-th consecutive failure.
    pub fn delay_after(&self, failures: u32) -> i64 {
        if failures <= self.free_failures {
            return 0;
        }
        let doublings = (failures - self.free_failures - 1).min(30);
        self.base_delay_secs
            .saturating_mul(1i64 << doublings)
            .min(self.max_delay_secs)
    }

    /// Whether an account with `counters` may try at `now`.
    pub fn check_account(&self, counters: &LoginCounters, now: i64) -> Result<(), RetryAfter> {
        retry_after(counters.locked_until, now)
    }

    /// `counters` after a failure at `now`.
    pub fn failed(&self, counters: &LoginCounters, now: i64) -> LoginCounters {
        let failures = counters.failures.saturating_add(1);
        LoginCounters {
            failures,
            last_failure_at: now,
            locked_until: now.saturating_add(self.delay_after(failures)),
        }
    }
}

fn retry_after(until: i64, now: i64) -> Result<(), RetryAfter> {
    if now < until {
        let seconds = u64::try_from(until - now).unwrap_or(1).max(1);
        return Err(RetryAfter { seconds });
    }
    Ok(())
}

/// A source's bucket of failures: `tokens` at `at`, refilled over time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    at: i64,
}

impl Bucket {
    fn refilled(self, policy: &ThrottlePolicy, now: i64) -> Self {
        let step = policy.source_refill_secs.max(1);
        let earned = (now - self.at).max(0) / step;
        let tokens = i64::from(self.tokens)
            .saturating_add(earned)
            .min(i64::from(policy.source_burst));
        Self {
            tokens: u32::try_from(tokens).unwrap_or(policy.source_burst),
            at: if tokens >= i64::from(policy.source_burst) {
                now
            } else {
                self.at + earned * step
            },
        }
    }
}

#[derive(Debug, Default)]
struct State {
    sources: HashMap<IpAddr, Bucket>,
    /// Counters of recently failing usernames, existing or not.
    accounts: HashMap<String, LoginCounters>,
    in_flight: HashSet<String>,
}

/// The in-memory side of login throttling (sources, usernames, attempts running).
#[derive(Debug, Clone, Default)]
pub struct LoginGuard {
    policy: ThrottlePolicy,
    state: Arc<Mutex<State>>,
}

/// Held while one attempt for a username runs; dropping it lets the next one in.
#[derive(Debug)]
pub struct LoginPermit {
    key: String,
    state: Arc<Mutex<State>>,
}

impl Drop for LoginPermit {
    fn drop(&mut self) {
        lock(&self.state).in_flight.remove(&self.key);
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl LoginGuard {
    /// A guard with this one's policy and state of its own (another tenant's sign-ins:
    /// a throttled `alice` of one tenant never slows the `alice` of another).
    pub fn apart(&self) -> Self {
        Self::new(self.policy)
    }

    /// A guard applying `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            state: Arc::default(),
        }
    }

    /// The policy (to update stored counters with [`ThrottlePolicy::failed`]).
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// May `source` try to sign in as `username_key` at `now`? `stored` holds the stored
    /// counters of an existing account (`None` for a username that does not exist): the
    /// answer has the same shape either way.
    pub fn check(
        &self,
        username_key: &str,
        stored: Option<&LoginCounters>,
        source: IpAddr,
        now: SystemTime,
    ) -> Result<LoginPermit, RetryAfter> {
        let now = unix_seconds(now);
        let mut state = lock(&self.state);
        if let Some(bucket) = state.sources.get(&source) {
            let bucket = bucket.refilled(&self.policy, now);
            if bucket.tokens == 0 {
                let next = bucket.at + self.policy.source_refill_secs.max(1);
                return Err(retry_after(next, now)
                    .err()
                    .unwrap_or(RetryAfter { seconds: 1 }));
            }
        }
        let counters = merged(state.accounts.get(username_key), stored);
        self.policy.check_account(&counters, now)?;
        if !state.in_flight.insert(username_key.to_string()) {
            return Err(RetryAfter { seconds: 1 });
        }
        Ok(LoginPermit {
            key: username_key.to_string(),
            state: self.state.clone(),
        })
    }

    /// Records a failed attempt at `now`: takes a token from `source` and counts the
    /// failure for `username_key` (from the later of its counters here and `stored`).
    /// Returns the new counters (an existing account stores them).
    pub fn record_failure(
        &self,
        username_key: &str,
        stored: Option<&LoginCounters>,
        source: IpAddr,
        now: SystemTime,
    ) -> LoginCounters {
        let now = unix_seconds(now);
        let mut state = lock(&self.state);
        let full = Bucket {
            tokens: self.policy.source_burst,
            at: now,
        };
        let bucket = state.sources.get(&source).copied().unwrap_or(full);
        let mut bucket = bucket.refilled(&self.policy, now);
        bucket.tokens = bucket.tokens.saturating_sub(1);
        state.sources.insert(source, bucket);
        let old = merged(state.accounts.get(username_key), stored);
        let updated = self.policy.failed(&old, now);
        state.accounts.insert(username_key.to_string(), updated);
        self.prune(&mut state, now);
        updated
    }

    /// Clears the counters of `username_key` after a successful sign-in and returns the
    /// cleared counters to store. (A source's bucket is not refilled by a success: one
    /// valid account must not buy more guesses.)
    pub fn record_success(&self, username_key: &str) -> LoginCounters {
        lock(&self.state).accounts.remove(username_key);
        LoginCounters::default()
    }

    /// Keeps the maps bounded: drops idle entries when they grow too large, and everything
    /// when that is not enough (a flood of sources or names; logged).
    fn prune(&self, state: &mut State, now: i64) {
        let policy = self.policy;
        if state.sources.len() > MAX_TRACKED {
            state
                .sources
                .retain(|_, b| b.refilled(&policy, now).tokens < policy.source_burst);
        }
        if state.accounts.len() > MAX_TRACKED {
            let idle = now - policy.max_delay_secs;
            state
                .accounts
                .retain(|_, c| c.locked_until > now || c.last_failure_at > idle);
        }
        for map_len in [state.sources.len(), state.accounts.len()] {
            if map_len > MAX_TRACKED {
                tracing::warn!(
                    entries = map_len,
                    "login throttling state is full; forgetting it"
                );
            }
        }
        if state.sources.len() > MAX_TRACKED {
            state.sources.clear();
        }
        if state.accounts.len() > MAX_TRACKED {
            state.accounts.clear();
        }
    }
}

/// The further advanced of two sets of counters (more failures, or a later lock).
fn merged(memory: Option<&LoginCounters>, stored: Option<&LoginCounters>) -> LoginCounters {
    match (memory, stored) {
        (Some(a), Some(b)) => {
            if (b.failures, b.locked_until) > (a.failures, a.locked_until) {
                *b
            } else {
                *a
            }
        }
        (Some(c), None) | (None, Some(c)) => *c,
        (None, None) => LoginCounters::default(),
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
