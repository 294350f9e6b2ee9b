//! Device authorization grant (RFC 8628): the store of pending device codes and the plain
//! decisions on them (user-code lookup, approve/deny, token polling with `slow_down`).
//!
//! Device codes are 256-bit random values stored only as SHA-256 hashes; user codes are
//! 8 letters from an unambiguous alphabet (`BCDFGHJKLMNPQRSTVWXZ`, shown as `XXXX-XXXX`).
//! Both are datastore records ([`crate::oauth::state`]): a device approved through one
//! replica's pages gets its tokens from any other; every state change is a
//! compare-and-swap, so an approval yields tokens exactly once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use super::codes::Issued;
use crate::datastore::ExpiringKind;
use crate::oauth::state::{CAS_ATTEMPTS, Records, StateError, StateStore, digest, pause_before};

mod user_code;

pub use user_code::{display_user_code, normalise_user_code};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

/// The grant type of token polling (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Lifetime of a device code (`expires_in`).
pub const DEVICE_CODE_TTL: Duration = Duration::from_secs(600);

/// The initial minimum polling interval (`interval`), in seconds.
pub const POLL_INTERVAL_SECS: i64 = 5;

/// Added to the interval of a device code polled too fast (RFC 8628 §3.5).
const SLOW_DOWN_STEP_SECS: i64 = 5;

/// An expired device code is still answered `expired_token` (not `invalid_grant`) for this
/// long before its record is pruned.
const EXPIRED_GRACE_SECS: i64 = 600;

/// Attempts at a user code that is not in use.
const ATTEMPTS: usize = 8;

/// The signed-in user who approved a device code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The user's opaque id (`sub`).
    pub user_id: String,
    /// When the user authenticated (unix seconds).
    pub auth_time: i64,
    /// Authentication methods (`pwd`, `otp`, …).
    pub amr: Vec<String>,
}

/// What an approved device code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The client that asked for the device code.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Who approved it.
    pub approval: Approval,
}

/// A pending request as shown on the confirm page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// The client that asked.
    pub client_id: String,
    /// The scopes it asked for.
    pub scopes: Vec<String>,
}

/// A freshly issued device authorization (RFC 8628 §3.2).
#[derive(Debug)]
pub struct DeviceAuthorization {
    /// The device code (secret; only its hash is stored).
    pub device_code: Zeroizing<String>,
    /// The user code as shown (`XXXX-XXXX`).
    pub user_code: String,
    /// Seconds until expiry.
    pub expires_in: u64,
    /// Minimum polling interval, seconds.
    pub interval: i64,
}

/// The outcome of one token poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Not yet decided (`authorization_pending`).
    Pending,
    /// Polled faster than the interval; the interval grew (`slow_down`).
    SlowDown,
    /// Expired (`expired_token`).
    Expired,
    /// The user denied (`access_denied`).
    Denied,
    /// Approved: issue tokens. The device code is now spent.
    Approved(DeviceGrant),
    /// A spent device code presented again by its client (`invalid_grant`): what it
    /// issued is to be revoked, as for a replayed authorization code.
    Replayed(Issued),
    /// Unknown or bound to another client (`invalid_grant`).
    Invalid,
}

/// Why a device code could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// No free user code was found.
    #[error("no free user code")]
    Full,
    /// The datastore failed.
    #[error(transparent)]
    Store(#[from] StateError),
}

#[derive(Debug, Serialize, Deserialize)]
enum State {
    Pending,
    Denied,
    Approved(Approval),
    /// Tokens were issued; what they were, to revoke them on a replay.
    Spent(Issued),
}

/// A device code as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    client_id: String,
    scopes: Vec<String>,
    user_code: String,
    expires_at: i64,
    interval: i64,
    last_poll: Option<i64>,
    state: State,
}

/// The device codes, in the datastore.
#[derive(Debug, Clone)]
pub struct DeviceCodes {
    ttl: Duration,
    /// Device-code hash → entry.
    by_device: Records<Entry>,
    /// Normalised user code → device-code hash, while undecided.
    by_user: Records<[u8; 32]>,
}

fn hash(code: &str) -> [u8; 32] {
    digest(&[code.as_bytes()])
}

impl DeviceCodes {
    /// Device codes valid for `ttl`, kept in `store`.
    pub fn new(ttl: Duration, store: Arc<dyn StateStore>) -> Self {
        Self {
            ttl,
            by_device: Records::new(store.clone(), ExpiringKind::DeviceCode),
            by_user: Records::new(store, ExpiringKind::DeviceUserCode),
        }
    }

    /// Issues a device code and a user code for `client_id` asking for `scopes`.
    pub async fn issue(
        &self,
        client_id: &str,
        scopes: Vec<String>,
        now: SystemTime,
    ) -> Result<DeviceAuthorization, DeviceError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(raw.as_mut()).map_err(|_| DeviceError::Random)?;
        let device_code = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
        let now_s = unix_seconds(now);
        let expires_at = now_s.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(600));
        let key = hash(&device_code);
        // A fresh user code that is not in use (retry a few times on collision).
        let mut user_code = None;
        for _ in 0..ATTEMPTS {
            let candidate = user_code::generate().ok_or(DeviceError::Random)?;
            if self
                .by_user
                .create(candidate.as_bytes(), &[], &key, now_s, expires_at)
                .await?
            {
                user_code = Some(candidate);
                break;
            }
        }
        let user_code = user_code.ok_or(DeviceError::Full)?;
        let entry = Entry {
            client_id: client_id.to_owned(),
            scopes,
            user_code: user_code.clone(),
            expires_at,
            interval: POLL_INTERVAL_SECS,
            last_poll: None,
            state: State::Pending,
        };
        let keep_until = expires_at.saturating_add(EXPIRED_GRACE_SECS);
        if !self
            .by_device
            .create(&key, &[], &entry, now_s, keep_until)
            .await?
        {
            return Err(DeviceError::Random);
        }
        Ok(DeviceAuthorization {
            device_code,
            user_code: display_user_code(&user_code),
            expires_in: self.ttl.as_secs(),
            interval: POLL_INTERVAL_SECS,
        })
    }

    /// The device-code hash behind `user_code` (any formatting), if it is live.
    async fn by_user_code(
        &self,
        user_code: &str,
        now_s: i64,
    ) -> Result<Option<(String, [u8; 32])>, StateError> {
        let Some(normal) = normalise_user_code(user_code) else {
            return Ok(None);
        };
        let key = self.by_user.get(normal.as_bytes(), now_s).await?;
        Ok(key.map(|k| (normal, k.value)))
    }

    /// The pending request behind `user_code` (any formatting), if it is live and undecided.
    pub async fn lookup(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> Result<Option<PendingRequest>, StateError> {
        let now_s = unix_seconds(now);
        let Some((_, key)) = self.by_user_code(user_code, now_s).await? else {
            return Ok(None);
        };
        Ok(self
            .by_device
            .get(&key, now_s)
            .await?
            .map(|e| e.value)
            .filter(|e| e.expires_at > now_s && matches!(e.state, State::Pending))
            .map(|e| PendingRequest {
                client_id: e.client_id,
                scopes: e.scopes,
            }))
    }

    /// Approves the pending request behind `user_code`; false if none is pending.
    pub async fn approve(
        &self,
        user_code: &str,
        approval: Approval,
        now: SystemTime,
    ) -> Result<bool, StateError> {
        self.decide(user_code, State::Approved(approval), now).await
    }

    /// Denies the pending request behind `user_code`; false if none is pending.
    pub async fn deny(&self, user_code: &str, now: SystemTime) -> Result<bool, StateError> {
        self.decide(user_code, State::Denied, now).await
    }

    async fn decide(
        &self,
        user_code: &str,
        state: State,
        now: SystemTime,
    ) -> Result<bool, StateError> {
        let now_s = unix_seconds(now);
        let Some((normal, key)) = self.by_user_code(user_code, now_s).await? else {
            return Ok(false);
        };
        let mut state = Some(state);
        let decided = self
            .by_device
            .modify(&key, now_s, |entry, keep_until| {
                if entry.expires_at <= now_s || !matches!(entry.state, State::Pending) {
                    return (Some(keep_until), false);
                }
                match state.take() {
                    Some(s) => {
                        entry.state = s;
                        (Some(keep_until), true)
                    }
                    None => (Some(keep_until), false),
                }
            })
            .await?
            .unwrap_or(false);
        // A decided user code cannot be entered again.
        if decided {
            self.by_user.delete(normal.as_bytes(), None).await?;
        }
        Ok(decided)
    }

    /// One token poll by `client_id` with `device_code` at `now`.
    pub async fn poll(
        &self,
        device_code: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<Poll, StateError> {
        let key = hash(device_code);
        let now_s = unix_seconds(now);
        for attempt in 0..CAS_ATTEMPTS {
            pause_before(attempt).await;
            let Some(found) = self.by_device.get(&key, now_s).await? else {
                return Ok(Poll::Invalid);
            };
            let mut entry = found.value;
            if entry.client_id != client_id {
                return Ok(Poll::Invalid);
            }
            if let State::Spent(issued) = entry.state {
                return Ok(Poll::Replayed(issued));
            }
            if entry.expires_at <= now_s {
                return Ok(Poll::Expired);
            }
            let too_fast = entry
                .last_poll
                .is_some_and(|last| now_s.saturating_sub(last) < entry.interval);
            entry.last_poll = Some(now_s);
            let spent = State::Spent(Issued {
                client_id: entry.client_id.clone(),
                grant_id: None,
                access_tokens: Vec::new(),
            });
            let outcome = match std::mem::replace(&mut entry.state, spent) {
                State::Pending => {
                    entry.state = State::Pending;
                    if too_fast {
                        entry.interval = entry.interval.saturating_add(SLOW_DOWN_STEP_SECS);
                        Poll::SlowDown
                    } else {
                        Poll::Pending
                    }
                }
                // Nothing more to remember of a denied code.
                State::Denied => return Ok(Poll::Denied),
                State::Approved(approval) => Poll::Approved(DeviceGrant {
                    client_id: entry.client_id.clone(),
                    scopes: entry.scopes.clone(),
                    approval,
                }),
                State::Spent(issued) => return Ok(Poll::Replayed(issued)),
            };
            if self
                .by_device
                .update(&key, found.revision, &entry, found.expires_at)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(StateError::Contended(ExpiringKind::DeviceCode))
    }

    /// Records what an approved `device_code` issued (the refresh family, an access token's
    /// `jti` and `exp`); the entry is kept until that access token expires.
    pub async fn record_issued(
        &self,
        device_code: &str,
        grant_id: Option<String>,
        access: (String, i64),
        now: SystemTime,
    ) -> Result<(), StateError> {
        self.by_device
            .modify(
                &hash(device_code),
                unix_seconds(now),
                |entry, keep_until| {
                    if let State::Spent(issued) = &mut entry.state {
                        if grant_id.is_some() {
                            issued.grant_id.clone_from(&grant_id);
                        }
                        issued.access_tokens.push(access.clone());
                    }
                    (Some(keep_until.max(access.1)), ())
                },
            )
            .await?;
        Ok(())
    }
}
