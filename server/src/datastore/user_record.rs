//! The stored form of a user account: everything the wire `User` shows plus the secrets it
//! never shows (the Argon2id PHC string and the sealed TOTP secret) and the login counters.
//!
//! Stored as JSON, like the OAuth client [`super::SecretRecord`]s; the admin API builds the
//! wire `User` from it field by field, so the secrets cannot leak through it by accident.

use serde::{Deserialize, Serialize};

use crate::ca::SealedKey;

/// Failed-login bookkeeping of one account (Unix seconds; 0 = never).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCounters {
    /// Consecutive failed logins since the last success.
    pub failures: u32,
    /// When the last failure happened.
    pub last_failure_at: i64,
    /// No login attempt is evaluated before this instant.
    pub locked_until: i64,
}

/// A user account as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Stable opaque ID (128 random bits, base64url); the primary key.
    pub id: String,
    /// The username as the operator typed it.
    pub username: String,
    /// The lowercase form of `username`: unique across accounts.
    pub username_key: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Argon2id PHC string (parameters and salt inside).
    pub password_hash: String,
    /// The TOTP secret, sealed with the server's seal key; `None`: TOTP off.
    pub totp: Option<SealedKey>,
    /// The last TOTP time step accepted (a code of that step or earlier is refused).
    pub totp_last_step: u64,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// Failed-login counters.
    pub login: LoginCounters,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Bumped by the store on every write; an update must carry the stored value.
    pub revision: u64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("disabled", &self.disabled)
            .field("totp", &self.totp.is_some())
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl UserRecord {
    /// A test account: `id` is also its username (and username key); every other field is
    /// empty, zero or off.
    pub fn for_test(id: &str) -> Self {
        Self {
            id: id.into(),
            username: id.into(),
            username_key: id.into(),
            display_name: String::new(),
            email: String::new(),
            password_hash: String::new(),
            totp: None,
            totp_last_step: 0,
            disabled: false,
            login: LoginCounters::default(),
            created_at: 0,
            updated_at: 0,
            revision: 0,
        }
    }
}
