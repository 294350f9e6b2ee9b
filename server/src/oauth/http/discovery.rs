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

/// The token endpoint's methods: every client authentication method plus `none` (public
/// clients send only `client_id`, for the authorization code grant with PKCE).
pub const TOKEN_AUTH_METHODS: [&str; 6] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "spiffe_jwt",
    "none",
];

/// Scopes with a meaning to this server (OpenID Connect); clients may have others.
pub const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Claims of ID tokens and UserInfo answers.
pub const CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "azp",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "jti",
];

/// The algorithms accepted for JWT client assertions (never `none` or HMAC).
pub const ASSERTION_ALGORITHMS: [&str; 9] = crate::oauth::clients::ASSERTION_ALGORITHMS;

/// The authorization server metadata document for `config` (ID tokens announced as ES256,
/// the default OAuth key type; the served document lists the key set's real algorithms).
pub fn metadata_document(config: &OAuthHttpConfig) -> Value {
    let auth_methods = json!(AUTH_METHODS);
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.url("/oauth2/authorize"),
        "token_endpoint": config.url("/oauth2/token"),
        "userinfo_endpoint": config.url("/oauth2/userinfo"),
        "introspection_endpoint": config.url("/oauth2/introspect"),
        "revocation_endpoint": config.url("/oauth2/revoke"),
        "device_authorization_endpoint": config.url("/oauth2/device_authorization"),
        // OpenID Connect RP-Initiated Logout 1.0: the logout page (GET or POST).
        "end_session_endpoint": config.url("/oauth2/logout"),
        "jwks_uri": config.url("/.well-known/jwks.json"),
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": CLAIMS,
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
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
    let mut document = metadata_document(&shared.config);
    let jwks = shared.signer.jwks();
    let algs = signing_algorithms(&jwks);
    if !algs.is_empty()
        && let Some(fields) = document.as_object_mut()
    {
        fields.insert("id_token_signing_alg_values_supported".into(), json!(algs));
    }
    Json(document)
}

/// The distinct `alg`s of a JWKS (what ID tokens are really signed with).
fn signing_algorithms(jwks: &Value) -> Vec<&str> {
    let mut algs: Vec<&str> = Vec::new();
    let keys = jwks.get("keys").and_then(Value::as_array);
    for alg in keys
        .into_iter()
        .flatten()
        .filter_map(|k| k.get("alg").and_then(Value::as_str))
    {
        if alg != "none" && !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    algs
}

/// `GET /.well-known/jwks.json`.
pub(crate) async fn jwks<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
) -> Json<Value> {
    Json(shared.signer.jwks())
}
