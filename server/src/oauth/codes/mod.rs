//! Authorization codes (RFC 6749 §4.1, RFC 9700 §4.2): random, short-lived, stored as
//! SHA-256 hashes, bound to client, redirect URI, PKCE challenge and nonce, and **single
//! use**: a second redemption is reported as a replay together with what was issued from the
//! code, so the caller can revoke it (refresh family and access tokens).
//!
//! Codes live in this process's memory (they last ≤ 60 s); with several replicas behind one
//! issuer the redirect must reach the replica that issued the code (sticky sessions) until
//! codes move to the shared datastore.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

/// The longest code lifetime accepted (RFC 9700 recommends short-lived codes).
pub const MAX_CODE_TTL: Duration = Duration::from_secs(60);

/// Most codes (pending or redeemed) held at once; beyond it issuing fails (503).
const CAPACITY: usize = 100_000;

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    /// The client the code was issued to.
    pub client_id: String,
    /// The exact redirect URI used in the authorization request.
    pub redirect_uri: String,
    /// The signed-in user's opaque id.
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The PKCE S256 `code_challenge` (always present: PKCE is required).
    pub code_challenge: String,
    /// The OIDC `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// When the user authenticated (unix seconds).
    pub auth_time: i64,
    /// Authentication methods (`pwd`, `otp`, …).
    pub amr: Vec<String>,
}

/// What was issued from a redeemed code (revoked when the code is replayed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issued {
    /// The client that redeemed the code.
    pub client_id: String,
    /// The refresh-token family started, if any.
    pub grant_id: Option<String>,
    /// Access tokens issued: (`jti`, `exp` unix seconds).
    pub access_tokens: Vec<(String, i64)>,
}

/// The outcome of [`AuthorizationCodes::redeem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<E> {
    /// First use of a valid code that passed the caller's check: what it stands for. The
    /// code is now spent.
    Fresh(CodeGrant),
    /// The code was already redeemed and the request passed the check (same client, right
    /// PKCE verifier): revoke everything in [`Issued`].
    Replayed(Issued),
    /// The request failed the caller's check (another client, wrong redirect URI or PKCE
    /// verifier): nothing changed, the code and what it issued are untouched.
    Rejected(E),
    /// Unknown or expired.
    Invalid,
}

/// Why a code could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// Too many outstanding codes.
    #[error("too many outstanding authorization codes")]
    Full,
}

#[derive(Debug)]
enum Slot {
    Pending {
        grant: CodeGrant,
        expires_at: i64,
    },
    Redeemed {
        grant: CodeGrant,
        issued: Issued,
        keep_until: i64,
    },
}

impl Slot {
    fn live_until(&self) -> i64 {
        match self {
            Self::Pending { expires_at, .. } => *expires_at,
            Self::Redeemed { keep_until, .. } => *keep_until,
        }
    }
}

/// The authorization codes of this process.
#[derive(Debug)]
pub struct AuthorizationCodes {
    ttl: Duration,
    slots: Mutex<HashMap<[u8; 32], Slot>>,
}

fn hash(code: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl AuthorizationCodes {
    /// Codes valid for `ttl`, capped at [`MAX_CODE_TTL`].
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: ttl.min(MAX_CODE_TTL),
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Slot>> {
        // A panic while holding the lock cannot leave a slot half written: recover.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a fresh 256-bit code for `grant`.
    pub fn issue(&self, grant: CodeGrant, now: SystemTime) -> Result<Zeroizing<String>, CodeError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(raw.as_mut()).map_err(|_| CodeError::Random)?;
        let code = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
        let now_s = unix_seconds(now);
        let expires_at = now_s.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(60));
        let mut slots = self.lock();
        if slots.len() >= CAPACITY {
            slots.retain(|_, slot| slot.live_until() > now_s);
            if slots.len() >= CAPACITY {
                return Err(CodeError::Full);
            }
        }
        slots.insert(hash(&code), Slot::Pending { grant, expires_at });
        Ok(code)
    }

    /// Redeems `code` at `now`. `check` decides whether this request may use the code (client,
    /// redirect URI, PKCE verifier); it runs under the lock before anything changes, so a
    /// request that fails it neither spends the code nor revokes what the code issued
    /// (RFC 9700 §4.2: only the legitimate holder's replay revokes). The first checked use gets
    /// the grant (the code is then spent); any later checked use is a replay. An expired code
    /// is invalid.
    pub fn redeem<E>(
        &self,
        code: &str,
        now: SystemTime,
        check: impl FnOnce(&CodeGrant) -> Result<(), E>,
    ) -> Redemption<E> {
        let key = hash(code);
        let now_s = unix_seconds(now);
        let mut slots = self.lock();
        match slots.get(&key) {
            None => Redemption::Invalid,
            Some(Slot::Redeemed { grant, issued, .. }) => match check(grant) {
                Ok(()) => Redemption::Replayed(issued.clone()),
                Err(e) => Redemption::Rejected(e),
            },
            Some(Slot::Pending { expires_at, .. }) if *expires_at <= now_s => {
                slots.remove(&key);
                Redemption::Invalid
            }
            Some(Slot::Pending { grant, expires_at }) => {
                if let Err(e) = check(grant) {
                    return Redemption::Rejected(e);
                }
                let grant = grant.clone();
                let issued = Issued {
                    client_id: grant.client_id.clone(),
                    ..Issued::default()
                };
                let keep_until = *expires_at;
                slots.insert(
                    key,
                    Slot::Redeemed {
                        grant: grant.clone(),
                        issued,
                        keep_until,
                    },
                );
                Redemption::Fresh(grant)
            }
        }
    }

    /// Records what was issued from a redeemed `code`, kept until the last access token
    /// expires so that a replay can still revoke it.
    pub fn record_issued(&self, code: &str, grant_id: Option<String>, access_token: (String, i64)) {
        let mut slots = self.lock();
        if let Some(Slot::Redeemed {
            issued, keep_until, ..
        }) = slots.get_mut(&hash(code))
        {
            if grant_id.is_some() {
                issued.grant_id = grant_id;
            }
            *keep_until = (*keep_until).max(access_token.1);
            issued.access_tokens.push(access_token);
        }
    }
}
