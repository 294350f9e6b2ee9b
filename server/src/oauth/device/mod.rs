//! Device authorization grant (RFC 8628): the store of pending device codes and the plain
//! decisions on them (user-code lookup, approve/deny, token polling with `slow_down`).
//!
//! Device codes are 256-bit random values stored only as SHA-256 hashes; user codes are
//! 8 letters from an unambiguous alphabet (`BCDFGHJKLMNPQRSTVWXZ`, shown as `XXXX-XXXX`).
//! Everything lives in this process's memory (codes last ≤ 10 min), like [`super::codes`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use super::codes::Issued;

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

/// Most device codes held at once; beyond it issuing fails (503).
const CAPACITY: usize = 100_000;

/// The signed-in user who approved a device code.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// Too many outstanding device codes.
    #[error("too many outstanding device codes")]
    Full,
}

#[derive(Debug)]
enum State {
    Pending,
    Denied,
    Approved(Approval),
    /// Tokens were issued; what they were, to revoke them on a replay.
    Spent(Issued),
}

#[derive(Debug)]
struct Entry {
    client_id: String,
    scopes: Vec<String>,
    user_code: String,
    expires_at: i64,
    interval: i64,
    last_poll: Option<i64>,
    state: State,
}

#[derive(Debug, Default)]
struct Slots {
    by_device: HashMap<[u8; 32], Entry>,
    /// Normalised user code → device-code hash.
    by_user: HashMap<String, [u8; 32]>,
}

impl Slots {
    fn purge(&mut self, now_s: i64) {
        self.by_device.retain(|_, e| e.expires_at > now_s);
        let live = &self.by_device;
        self.by_user.retain(|_, key| live.contains_key(key));
    }

    fn pending_by_user(&mut self, user_code: &str, now_s: i64) -> Option<&mut Entry> {
        let normal = normalise_user_code(user_code)?;
        let key = *self.by_user.get(&normal)?;
        self.by_device
            .get_mut(&key)
            .filter(|e| e.expires_at > now_s && matches!(e.state, State::Pending))
    }
}

/// The device codes of this process.
#[derive(Debug)]
pub struct DeviceCodes {
    ttl: Duration,
    slots: Mutex<Slots>,
}

fn hash(code: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl Default for DeviceCodes {
    fn default() -> Self {
        Self::new(DEVICE_CODE_TTL)
    }
}

impl DeviceCodes {
    /// Device codes valid for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(Slots::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock cannot leave an entry half written: recover.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a device code and a user code for `client_id` asking for `scopes`.
    pub fn issue(
        &self,
        client_id: &str,
        scopes: Vec<String>,
        now: SystemTime,
    ) -> Result<DeviceAuthorization, DeviceError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(raw.as_mut()).map_err(|_| DeviceError::Random)?;
        let device_code = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
        let now_s = unix_seconds(now);
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(600);
        let mut slots = self.lock();
        if slots.by_device.len() >= CAPACITY {
            slots.purge(now_s);
            if slots.by_device.len() >= CAPACITY {
                return Err(DeviceError::Full);
            }
        }
        // A fresh user code that is not in use (retry a few times on collision).
        let mut user_code = None;
        for _ in 0..8 {
            let candidate = user_code::generate().ok_or(DeviceError::Random)?;
            if !slots.by_user.contains_key(&candidate) {
                user_code = Some(candidate);
                break;
            }
        }
        let user_code = user_code.ok_or(DeviceError::Full)?;
        let key = hash(&device_code);
        slots.by_user.insert(user_code.clone(), key);
        slots.by_device.insert(
            key,
            Entry {
                client_id: client_id.to_owned(),
                scopes,
                user_code: user_code.clone(),
                expires_at: now_s.saturating_add(ttl),
                interval: POLL_INTERVAL_SECS,
                last_poll: None,
                state: State::Pending,
            },
        );
        Ok(DeviceAuthorization {
            device_code,
            user_code: display_user_code(&user_code),
            expires_in: self.ttl.as_secs(),
            interval: POLL_INTERVAL_SECS,
        })
    }

    /// The pending request behind `user_code` (any formatting), if it is live and undecided.
    pub fn lookup(&self, user_code: &str, now: SystemTime) -> Option<PendingRequest> {
        let mut slots = self.lock();
        slots
            .pending_by_user(user_code, unix_seconds(now))
            .map(|e| PendingRequest {
                client_id: e.client_id.clone(),
                scopes: e.scopes.clone(),
            })
    }

    /// Approves the pending request behind `user_code`; false if none is pending.
    pub fn approve(&self, user_code: &str, approval: Approval, now: SystemTime) -> bool {
        self.decide(user_code, State::Approved(approval), now)
    }

    /// Denies the pending request behind `user_code`; false if none is pending.
    pub fn deny(&self, user_code: &str, now: SystemTime) -> bool {
        self.decide(user_code, State::Denied, now)
    }

    fn decide(&self, user_code: &str, state: State, now: SystemTime) -> bool {
        let mut slots = self.lock();
        let now_s = unix_seconds(now);
        let Some(entry) = slots.pending_by_user(user_code, now_s) else {
            return false;
        };
        entry.state = state;
        // A decided user code cannot be entered again.
        let normal = entry.user_code.clone();
        slots.by_user.remove(&normal);
        true
    }

    /// One token poll by `client_id` with `device_code` at `now`.
    pub fn poll(&self, device_code: &str, client_id: &str, now: SystemTime) -> Poll {
        let key = hash(device_code);
        let now_s = unix_seconds(now);
        let mut slots = self.lock();
        let Some(entry) = slots.by_device.get_mut(&key) else {
            return Poll::Invalid;
        };
        if entry.client_id != client_id {
            return Poll::Invalid;
        }
        if let State::Spent(issued) = &entry.state {
            return Poll::Replayed(issued.clone());
        }
        if entry.expires_at <= now_s {
            let normal = entry.user_code.clone();
            slots.by_device.remove(&key);
            slots.by_user.remove(&normal);
            return Poll::Expired;
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
        match std::mem::replace(&mut entry.state, spent) {
            State::Pending if too_fast => {
                entry.state = State::Pending;
                entry.interval = entry.interval.saturating_add(SLOW_DOWN_STEP_SECS);
                Poll::SlowDown
            }
            State::Pending => {
                entry.state = State::Pending;
                Poll::Pending
            }
            State::Denied => {
                entry.state = State::Denied;
                Poll::Denied
            }
            State::Approved(approval) => Poll::Approved(DeviceGrant {
                client_id: entry.client_id.clone(),
                scopes: entry.scopes.clone(),
                approval,
            }),
            State::Spent(issued) => Poll::Replayed(issued),
        }
    }

    /// Records what an approved `device_code` issued (the refresh family, an access token's
    /// `jti` and `exp`); the entry is kept until that access token expires.
    pub fn record_issued(
        &self,
        device_code: &str,
        grant_id: Option<String>,
        access: (String, i64),
    ) {
        let mut slots = self.lock();
        if let Some(entry) = slots.by_device.get_mut(&hash(device_code))
            && let State::Spent(issued) = &mut entry.state
        {
            if grant_id.is_some() {
                issued.grant_id = grant_id;
            }
            entry.expires_at = entry.expires_at.max(access.1);
            issued.access_tokens.push(access);
        }
    }
}
