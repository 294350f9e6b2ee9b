//! OAuth 2.0 authorization server for callers outside the mesh.
//!
//! - [`browser`]: the browser side of the code flow (authorize, login, consent, logout).
//! - [`clients`]: OAuth clients (secrets stored as SHA-256, rotation with a grace period).
//! - [`codes`]: single-use authorization codes (hashed, ≤ 60 s, replay detection).
//! - [`device`]: device authorization grant (RFC 8628) codes and polling decisions.
//! - [`exchange`]: token exchange (RFC 8693) of JWT-SVIDs and service-account tokens.
//! - [`http`]: the HTTP surface (discovery, JWKS, token, UserInfo, introspection,
//!   revocation).
//! - [`state`]: sessions, codes, device codes, assertion and revoked `jti`s in the datastore.
//! - [`signer`] / [`authenticator`] / [`trust`] / [`profiles`]: the CA's OAuth keys, the
//!   client store, the trust bundles and the users store behind it.

pub mod authenticator;
pub mod browser;
pub mod clients;
pub mod codes;
pub mod device;
pub mod exchange;
pub mod grants;
pub mod http;
pub mod profiles;
pub mod realms;
pub mod signer;
pub mod state;
pub mod trust;

/// A boxed `Send` future (what the object-safe ports of the OAuth server return).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
