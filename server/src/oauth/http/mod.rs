//! The OAuth 2.0 HTTP surface: discovery (RFC 8414), JWKS, `client_credentials` token
//! endpoint (RFC 6749, RFC 9068 access tokens, RFC 8707 resources), introspection
//! (RFC 7662) and revocation (RFC 7009).
//!
//! Depends only on the small traits in [`ports`]; the lead wires the client store and the
//! CA's OAuth signing keys behind them.

mod config;
mod discovery;
mod endpoints;
mod error;
mod exchange;
mod grant;
mod limits;
pub mod ports;
mod request;
mod server;
pub mod tls;
mod verify;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use config::OAuthHttpConfig;
pub use discovery::metadata_document;
pub use error::{ErrorCode, OAuthError, OAuthHttpError};
pub use ports::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, ClientCertificate,
    JWT_BEARER_ASSERTION, PresentedCredentials, SignFailure, TokenSigner, TrustBundles,
};
pub use server::OAuthServer;
