//! RFC 8414 / OpenID discovery metadata and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::config::OAuthHttpConfig;
use super::ports::{ClientAuthenticator, TokenSigner};
use super::server::Shared;

/// The client authentication methods of the token, introspection and revocation endpoints
/// (`spiffe_jwt` is ours: a JWT-SVID as the client assertion).
pub const AUTH_METHODS: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "spiffe_jwt",
];

/// The algorithms accepted for JWT client assertions (never `none` or HMAC).
pub const ASSERTION_ALGORITHMS: [&str; 9] = crate::oauth::clients::ASSERTION_ALGORITHMS;

/// The authorization server metadata document for `config`.
pub fn metadata_document(config: &OAuthHttpConfig) -> Value {
    let auth_methods = json!(AUTH_METHODS);
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.url("/oauth2/authorize"),
        "token_endpoint": config.url("/oauth2/token"),
        "introspection_endpoint": config.url("/oauth2/introspect"),
        "revocation_endpoint": config.url("/oauth2/revoke"),
        "jwks_uri": config.url("/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "tls_client_certificate_bound_access_tokens": true,
        "authorization_response_iss_parameter_supported": true,
        "id_token_signing_alg_values_supported": ["ES256"],
    })
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
pub(crate) async fn metadata<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
) -> Json<Value> {
    Json(metadata_document(&shared.config))
}

/// `GET /.well-known/jwks.json`.
pub(crate) async fn jwks<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
) -> Json<Value> {
    Json(shared.signer.jwks())
}
