//! Grants: what a user allowed a client, carried by a family of opaque refresh tokens.
//!
//! - Refresh tokens are 256-bit random values (base64url), stored only as SHA-256 hashes;
//!   each belongs to a grant (family) and has a generation.
//! - **Rotation on every use**: a refresh returns a new token and the presented one stops
//!   working. **Reuse detection** (RFC 9700 §4.14.2): presenting an already-rotated token
//!   revokes the whole family, the newest token included.
//! - **Concurrent refreshes of one token: exactly one wins.** The rotation is one datastore
//!   transaction that compares the grant's generation and swaps in the new token. A loser
//!   of that race gets `invalid_grant` *without* revoking the family: concurrent use of the
//!   current token is what a client retrying or double-submitting looks like. A token that
//!   was already rotated when it is looked up (a later, not a simultaneous, use) is reuse.
//! - Idle lifetime (since the last rotation) and absolute lifetime (since the grant
//!   started); the client must be the grant's; the user and the client must still exist and
//!   be enabled (checked live on every refresh). Revoking a user or a client also deletes
//!   its families through the by-user and by-client indexes.

mod dyn_service;
mod model;
mod service;
mod token;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use dyn_service::{BoxFuture, GrantService};
pub use model::{
    ActiveGrant, GrantError, GrantLifetimes, GrantStart, RefreshError, RefreshToken,
    RefreshTokenInfo,
};
pub use service::{Grants, revoke_client_grants, revoke_user_grants};
