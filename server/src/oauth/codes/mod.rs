//! Authorization codes (RFC 6749 §4.1, RFC 9700 §4.2): random, short-lived, stored as
//! SHA-256 hashes, bound to client, redirect URI, PKCE challenge and nonce, and **single
//! use**: a second redemption is reported as a replay together with what was issued from the
//! code, so the caller can revoke it (refresh family and access tokens).
//!
//! Codes are datastore records ([`crate::oauth::state`]): a code issued by one replica
//! redeems at any other, and the pending → redeemed step is a compare-and-swap, so of two
//! concurrent redemptions (on any replicas) exactly one gets the grant.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use crate::datastore::ExpiringKind;
use crate::oauth::state::{Records, StateError, StateStore, digest};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

/// The longest code lifetime accepted (RFC 9700 recommends short-lived codes).
pub const MAX_CODE_TTL: Duration = Duration::from_secs(60);

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The random generator failed.
    #[error("random generation failed")]
    Random,
    /// The datastore failed.
    #[error(transparent)]
    Store(#[from] StateError),
}

/// A code as stored.
#[derive(Debug, Serialize, Deserialize)]
enum Slot {
    Pending { grant: CodeGrant, expires_at: i64 },
    Redeemed { grant: CodeGrant, issued: Issued },
}

/// The authorization codes, in the datastore.
#[derive(Debug, Clone)]
pub struct AuthorizationCodes {
    ttl: Duration,
    records: Records<Slot>,
}

fn hash(code: &str) -> [u8; 32] {
    digest(&[code.as_bytes()])
}

impl AuthorizationCodes {
    /// Codes valid for `ttl`, capped at [`MAX_CODE_TTL`], kept in `store`.
    pub fn new(ttl: Duration, store: Arc<dyn StateStore>) -> Self {
        Self {
            ttl: ttl.min(MAX_CODE_TTL),
            records: Records::new(store, ExpiringKind::AuthorizationCode),
        }
    }

    /// Issues a fresh 256-bit code for `grant`.
    pub async fn issue(
        &self,
        grant: CodeGrant,
        now: SystemTime,
    ) -> Result<Zeroizing<String>, CodeError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(raw.as_mut()).map_err(|_| CodeError::Random)?;
        let code = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
        let now_s = unix_seconds(now);
        let expires_at = now_s.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(60));
        let slot = Slot::Pending { grant, expires_at };
        // A 256-bit random key is never taken: a `false` here is a broken generator.
        if !self
            .records
            .create(&hash(&code), &[], &slot, now_s, expires_at)
            .await?
        {
            return Err(CodeError::Random);
        }
        Ok(code)
    }

    /// Redeems `code` at `now`. `check` decides whether this request may use the code (client,
    /// redirect URI, PKCE verifier); it runs before anything changes, so a request that fails
    /// it neither spends the code nor revokes what the code issued (RFC 9700 §4.2: only the
    /// legitimate holder's replay revokes). The first checked use gets the grant (the code is
    /// then spent); any later checked use is a replay. An expired code is invalid.
    pub async fn redeem<E>(
        &self,
        code: &str,
        now: SystemTime,
        check: impl FnOnce(&CodeGrant) -> Result<(), E>,
    ) -> Result<Redemption<E>, StateError> {
        let key = hash(code);
        let now_s = unix_seconds(now);
        let Some(found) = self.records.get(&key, now_s).await? else {
            return Ok(Redemption::Invalid);
        };
        let (grant, expires_at) = match found.value {
            Slot::Redeemed { grant, issued } => {
                return Ok(match check(&grant) {
                    Ok(()) => Redemption::Replayed(issued),
                    Err(e) => Redemption::Rejected(e),
                });
            }
            Slot::Pending { grant, expires_at } => (grant, expires_at),
        };
        if let Err(e) = check(&grant) {
            return Ok(Redemption::Rejected(e));
        }
        let issued = Issued {
            client_id: grant.client_id.clone(),
            ..Issued::default()
        };
        let spent = Slot::Redeemed {
            grant: grant.clone(),
            issued,
        };
        if self
            .records
            .update(&key, found.revision, &spent, expires_at)
            .await?
        {
            return Ok(Redemption::Fresh(grant));
        }
        // A concurrent redemption of the same code (same client and verifier: it passed the
        // same check) won: this one is its replay.
        Ok(
            match self.records.get(&key, now_s).await?.map(|f| f.value) {
                Some(Slot::Redeemed { issued, .. }) => Redemption::Replayed(issued),
                _ => Redemption::Invalid,
            },
        )
    }

    /// Records what was issued from a redeemed `code`, kept until the last access token
    /// expires so that a replay can still revoke it.
    pub async fn record_issued(
        &self,
        code: &str,
        grant_id: Option<String>,
        access_token: (String, i64),
        now: SystemTime,
    ) -> Result<(), StateError> {
        let now_s = unix_seconds(now);
        self.records
            .modify(&hash(code), now_s, |slot, expires_at| {
                if let Slot::Redeemed { issued, .. } = slot {
                    if grant_id.is_some() {
                        issued.grant_id.clone_from(&grant_id);
                    }
                    issued.access_tokens.push(access_token.clone());
                }
                (Some(expires_at.max(access_token.1)), ())
            })
            .await?;
        Ok(())
    }
}
