//! The OAuth 2.0 HTTP surface: discovery (RFC 8414), JWKS, token endpoint
//! (`client_credentials`, `authorization_code` with PKCE and OpenID Connect ID tokens,
//! token exchange; RFC 6749, RFC 9068 access tokens, RFC 8707 resources), UserInfo,
//! introspection (RFC 7662) and revocation (RFC 7009).
//!
//! Depends only on the small traits in [`ports`]; the lead wires the client store and the
//! CA's OAuth signing keys behind them.

mod api_key;
mod code;
mod config;
mod denylist;
mod device;
mod discovery;
mod endpoints;
mod error;
mod exchange;
mod grant;
mod id_token;
mod limits;
mod pkce;
pub mod ports;
mod refresh;
mod request;
mod request_id;
#[cfg(fuzzing)]
pub(crate) use request::parse_form as parse_form_for_fuzzing;
mod server;
pub mod tls;
mod token_metrics;
mod userinfo;
pub(crate) mod verify;
#[cfg(fuzzing)]
pub(crate) use verify::{verify_access_token, verify_id_token_hint};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use api_key::API_KEY_ID_CLAIM;
pub use config::OAuthHttpConfig;
pub use discovery::metadata_document;
pub use error::{ErrorCode, OAuthError, OAuthHttpError};
pub use ports::{
    ApiKeyCheck, AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator,
    ClientCertificate, JWT_BEARER_ASSERTION, PresentedCredentials, SignFailure, SingleUse,
    TokenSigner, TrustBundles,
};
pub use request::source_address;
pub use server::OAuthServer;
pub use userinfo::{ProfileFuture, UserProfile, UserProfiles};
