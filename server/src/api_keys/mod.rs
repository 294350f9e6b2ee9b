//! API keys (issue 17): long-lived, least-privilege credentials for scripts and partner
//! systems, owned by a user or an OAuth client, each with scopes (within its owner's), an
//! optional audience list and source networks, and a required expiry.
//!
//! - [`format`]: the secret (`tsk_` + 256 random bits + checksum, GitHub's scheme), IDs
//!   (`ak_…`), hashing and constant-time comparison.
//! - [`scopes`]: a key's scopes within its owner's; the admin scopes ([`ADMIN_ROLES`]).
//! - [`cidr`]: allowed source networks.
//! - [`authenticator`]: every check at use time ([`ApiKeyAuthenticator`]).
//! - [`manage`]: create, get, list, revoke ([`ApiKeyManager`]).
//! - [`usage`]: last use kept in memory and flushed periodically.
//! - [`admin`]: keys with an admin scope as admin API bearer credentials ([`AdminKeys`]).
//! - [`audit`]: the audit events.

pub mod admin;
pub mod audit;
pub mod authenticator;
pub mod cidr;
pub mod format;
pub mod manage;
pub mod scopes;
#[cfg(test)]
mod tests;
pub mod usage;

pub use admin::AdminKeys;
pub use authenticator::{ApiKeyAuthenticator, ApiKeyDenial, AuthenticatedKey};
pub use format::{ApiKeySecret, KeyFormatError, parse_key};
pub use manage::{ApiKeyError, ApiKeyManager, NewApiKey, forget_owner_keys};
pub use scopes::{ADMIN_ROLES, ScopeError};
pub use usage::{UsageFlusher, UsageLog};

/// `subject_token_type` of an API key at the token endpoint (RFC 8693 token exchange),
/// and `token_type` of a key at introspection.
pub const API_KEY_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:api-key";
