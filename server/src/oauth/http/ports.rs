//! The small traits this HTTP surface needs from the rest of the server (house rule 6).
//!
//! The lead wires real implementations (the clients datastore, the CA's OAuth signing keys)
//! behind these; tests use in-memory fakes.

use std::future::Future;
use std::time::{Duration, SystemTime};

/// A client whose credentials were verified, with what it may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedClient {
    /// The client's identifier (becomes `sub` and `client_id` of its tokens).
    pub client_id: String,
    /// Scopes the client may request; an omitted `scope` parameter grants all of them.
    pub scopes: Vec<String>,
    /// Audiences / resources (RFC 8707) the client may target; empty means "the issuer".
    pub audiences: Vec<String>,
    /// Grant types the client may use (e.g. `client_credentials`).
    pub grant_types: Vec<String>,
    /// Per-client access-token lifetime; `None` uses the server default.
    pub access_token_ttl: Option<Duration>,
}

/// Why client authentication did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthFailure {
    /// Unknown client, wrong secret, disabled client: answered `401 invalid_client`.
    #[error("invalid client credentials")]
    Invalid,
    /// The client store could not be consulted: answered `503 server_error`.
    /// The string is logged, never sent.
    #[error("client store unavailable: {0}")]
    Unavailable(String),
}

/// Verifies client secrets (`client_secret_basic` / `client_secret_post`).
pub trait ClientAuthenticator: Send + Sync + 'static {
    /// Checks `secret` for `client_id` (constant time is the implementation's duty).
    fn authenticate_secret(
        &self,
        client_id: &str,
        secret: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<AuthenticatedClient, ClientAuthFailure>> + Send;
}

/// Why a token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignFailure {
    /// No usable signing key right now (logged, answered `503 server_error`).
    #[error("no signing key available: {0}")]
    Unavailable(String),
    /// Signing itself failed (logged, answered `500 server_error`).
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Signs access tokens with the OAuth signing keys and publishes their JWKS.
pub trait TokenSigner: Send + Sync + 'static {
    /// The public keys (a JWKS document, every key with `kid`, `alg`, `use: sig`).
    fn jwks(&self) -> serde_json::Value;
    /// Signs `claims` as a JWS compact token with header `typ` and the current key's `kid`.
    fn sign(
        &self,
        now: SystemTime,
        claims: &serde_json::Map<String, serde_json::Value>,
        typ: &str,
    ) -> Result<String, SignFailure>;
    /// Tokens must not outlive this instant (the current key's retirement), if any.
    fn signing_deadline(&self) -> Option<SystemTime>;
}
