//! The small traits this HTTP surface needs from the rest of the server (house rule 6).
//!
//! The lead wires real implementations (the clients datastore, the CA's OAuth signing keys)
//! behind these; tests use in-memory fakes.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::CertificateDer;
use tessera_proto::wire::tessera::types::v1::Bundle;
use zeroize::Zeroizing;

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
    /// For clients authenticated by mutual TLS (RFC 8705): the base64url SHA-256 thumbprint
    /// of the client certificate, which becomes `cnf.x5t#S256` of every token issued.
    pub certificate_thumbprint: Option<String>,
    /// May introspect tokens issued to other clients (`client create --introspect-any`);
    /// otherwise introspection answers `active: false` for them.
    pub introspect_any: bool,
    /// A verified assertion's `jti` to be used once: checked and remembered by
    /// [`ClientAuthenticator::use_once`] only after the rate limit admitted the request, so
    /// a client cannot fill the replay cache faster than its rate.
    pub single_use: Option<SingleUse>,
}

/// The `jti` of a verified client assertion and until when it must stay unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleUse {
    /// The assertion's `jti`.
    pub jti: String,
    /// When the assertion could no longer be accepted anyway.
    pub until: SystemTime,
}

/// `client_assertion_type` for JWT client assertions (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credentials a request presented (exactly one method per request, RFC 6749 §2.3).
pub enum PresentedCredentials {
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        /// The claimed client id.
        client_id: String,
        /// The presented secret.
        secret: Zeroizing<String>,
    },
    /// A JWT client assertion (`private_key_jwt`, or a JWT-SVID for `spiffe_jwt`).
    Assertion {
        /// The `client_id` parameter, when sent (it must then match the assertion).
        client_id: Option<String>,
        /// The compact JWS.
        assertion: Zeroizing<String>,
    },
    /// Only a `client_id`: the TLS client certificate is the credential (`tls_client_auth`).
    Certificate {
        /// The claimed client id.
        client_id: String,
    },
}

impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret { client_id, .. } => f
                .debug_struct("Secret")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::Assertion { client_id, .. } => f
                .debug_struct("Assertion")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::Certificate { client_id } => f
                .debug_struct("Certificate")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

impl PresentedCredentials {
    /// The client id the caller claims, if it can be told without verifying anything.
    pub fn claimed_client_id(&self) -> Option<&str> {
        match self {
            Self::Secret { client_id, .. } | Self::Certificate { client_id } => Some(client_id),
            Self::Assertion { client_id, .. } => client_id.as_deref(),
        }
    }
}

/// The TLS client certificate chain of the connection a request came on (leaf first).
///
/// The TLS listener inserts it as a request extension; the handshake proved possession of
/// the leaf's key but did **not** check the chain: client authentication does that against
/// the trust bundles.
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Arc<Vec<CertificateDer<'static>>>);

/// What client authentication needs to know besides the credentials.
#[derive(Debug, Clone, Copy)]
pub struct AuthContext<'a> {
    /// The time of the request.
    pub now: SystemTime,
    /// The issuer URL (an accepted assertion audience).
    pub issuer: &'a str,
    /// The token endpoint URL (an accepted assertion audience).
    pub token_endpoint: &'a str,
    /// The URL of the endpoint called, also an accepted assertion audience (authlib, for
    /// one, signs its introspection and revocation assertions for those endpoints).
    pub endpoint: &'a str,
    /// The connection's client certificate, if TLS with a client certificate was used.
    pub peer_certificate: Option<&'a ClientCertificate>,
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

/// Verifies presented client credentials (every registered auth method).
pub trait ClientAuthenticator: Send + Sync + 'static {
    /// Checks `presented` (constant-time secret comparison is the implementation's duty);
    /// the method used must be the client's registered one.
    fn authenticate(
        &self,
        presented: &PresentedCredentials,
        context: &AuthContext<'_>,
    ) -> impl Future<Output = Result<AuthenticatedClient, ClientAuthFailure>> + Send;

    /// Accepts `single_use` of `client_id` once (RFC 7523 §3 item 7): a replay is
    /// [`ClientAuthFailure::Invalid`], a datastore failure
    /// [`ClientAuthFailure::Unavailable`]. Called after the rate limit.
    fn use_once(
        &self,
        client_id: &str,
        single_use: &SingleUse,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), ClientAuthFailure>> + Send;
}

/// The trust bundles the server trusts: its own and every federated one.
pub trait TrustBundles: Send + Sync + 'static {
    /// Own bundle first, then the federated bundles. The string is logged, never sent.
    fn bundles(&self) -> impl Future<Output = Result<Vec<Bundle>, String>> + Send;
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

/// Checks presented API keys ([`crate::api_keys::ApiKeyAuthenticator`] as a trait object,
/// so the HTTP server holds it without naming the datastore).
pub trait ApiKeyCheck: Send + Sync + 'static {
    /// [`crate::api_keys::ApiKeyAuthenticator::authenticate`].
    fn authenticate<'a>(
        &'a self,
        tenant: &'a crate::datastore::TenantId,
        presented: &'a str,
        source: Option<std::net::IpAddr>,
        now: SystemTime,
    ) -> crate::oauth::BoxFuture<
        'a,
        Result<crate::api_keys::AuthenticatedKey, crate::api_keys::ApiKeyDenial>,
    >;
}

impl<S> ApiKeyCheck for crate::api_keys::ApiKeyAuthenticator<S>
where
    S: crate::datastore::ApiKeyStore
        + crate::datastore::UserStore
        + crate::datastore::OAuthClientStore
        + crate::datastore::TenantScope
        + Clone
        + Send
        + Sync,
{
    fn authenticate<'a>(
        &'a self,
        tenant: &'a crate::datastore::TenantId,
        presented: &'a str,
        source: Option<std::net::IpAddr>,
        now: SystemTime,
    ) -> crate::oauth::BoxFuture<
        'a,
        Result<crate::api_keys::AuthenticatedKey, crate::api_keys::ApiKeyDenial>,
    > {
        Box::pin(crate::api_keys::ApiKeyAuthenticator::authenticate(
            self, tenant, presented, source, now,
        ))
    }
}
