//! The grant types callers see.

use std::time::Duration;

use zeroize::Zeroizing;

/// What starts a grant (after login and consent, or a device approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStart {
    /// The user's opaque ID.
    pub user_id: String,
    /// The client the user allowed.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// Authentication methods (`pwd`, `otp`, …).
    pub amr: Vec<String>,
}

/// An opaque refresh token (256 random bits, base64url). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(pub(super) Zeroizing<String>);

impl RefreshToken {
    /// The token, to send to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// A grant that was just refreshed: what the new access token is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveGrant {
    /// The grant (family) ID.
    pub grant_id: String,
    /// The user's opaque ID (`sub` of the access token).
    pub user_id: String,
    /// The grant's client.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// Authentication methods.
    pub amr: Vec<String>,
}

/// What introspection may tell about a current refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenInfo {
    /// The grant.
    pub grant: ActiveGrant,
    /// The grant's absolute expiry (Unix seconds).
    pub expires_at: i64,
}

/// Why a refresh was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired (idle or absolute), revoked, another client's token, a lost
    /// concurrent refresh, or a user or client that is disabled or gone: `invalid_grant`.
    #[error("invalid grant")]
    InvalidGrant,
    /// An already-rotated token: the whole family is now revoked. Answered `invalid_grant`.
    #[error("refresh token reuse detected; the grant is revoked")]
    ReuseDetected,
    /// The datastore (or the random source) failed; logged, answered 503. Never holds a
    /// token.
    #[error("grants unavailable: {0}")]
    Unavailable(String),
}

/// A grant operation that could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The datastore or the random source failed; never holds a token.
    #[error("grants unavailable: {0}")]
    Unavailable(String),
}

impl From<crate::datastore::DatastoreError> for GrantError {
    fn from(e: crate::datastore::DatastoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<crate::datastore::DatastoreError> for RefreshError {
    fn from(e: crate::datastore::DatastoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<GrantError> for RefreshError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Unavailable(s) => Self::Unavailable(s),
        }
    }
}

/// How long refresh tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantLifetimes {
    /// Since the last rotation (default 14 days).
    pub idle: Duration,
    /// Since the grant started (default 90 days).
    pub absolute: Duration,
}

impl Default for GrantLifetimes {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(14 * 24 * 3600),
            absolute: Duration::from_secs(90 * 24 * 3600),
        }
    }
}
