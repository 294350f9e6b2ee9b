//! The stored form of a grant (a refresh-token family) and of one refresh token's hash.
//!
//! Stored as JSON. A grant holds no token: refresh tokens are kept only as SHA-256 hashes,
//! each pointing at its grant and the generation it was issued as.

use serde::{Deserialize, Serialize};

/// One grant: what a user allowed a client, and the state of its refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Random opaque ID (base64url); the primary key.
    pub grant_id: String,
    /// The user's opaque ID.
    pub user_id: String,
    /// The client the grant belongs to (the only one that may refresh it).
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// Authentication methods used (e.g. `pwd`, `otp`).
    pub amr: Vec<String>,
    /// When the grant started (Unix seconds): the base of the absolute lifetime.
    pub created_at: i64,
    /// Absolute expiry (Unix seconds, exclusive).
    pub expires_at: i64,
    /// The generation of the one current refresh token (0 for the first).
    pub generation: u64,
    /// When the current refresh token was issued (Unix seconds): the base of the idle
    /// lifetime.
    pub rotated_at: i64,
}

impl GrantRecord {
    /// Whether the grant has ended at `now` (Unix seconds): past its absolute expiry, or not
    /// rotated for `idle_secs`.
    pub fn ended(&self, now: i64, idle_secs: i64) -> bool {
        now >= self.expires_at || now >= self.rotated_at.saturating_add(idle_secs)
    }
}

/// One refresh token, by its hash: the grant and generation it was issued as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    /// The grant (family).
    pub grant_id: String,
    /// The generation; current only while it equals the grant's.
    pub generation: u64,
}

/// A compare-and-swap rotation of a grant's current refresh token
/// ([`super::GrantStore::rotate_refresh_token`]).
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The grant.
    pub grant_id: &'a str,
    /// Hex SHA-256 of the presented token.
    pub old_hash: &'a str,
    /// The generation the presented token must still be current as.
    pub expected_generation: u64,
    /// Hex SHA-256 of the new token (generation `expected_generation + 1`).
    pub new_hash: &'a str,
    /// Unix seconds of the rotation.
    pub now: i64,
}
