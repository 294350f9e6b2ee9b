//! `GET/POST /oauth2/userinfo` (OIDC Core §5.3): the signed-in user's claims by scope, for
//! a bearer access token (RFC 6750 §2.1) carrying `openid`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::endpoints::{AUDIT, no_store};
use super::id_token::OPENID;
use super::ports::{ClientAuthenticator, ClientCertificate, TokenSigner};
use super::server::Shared;
use super::verify::verify_access_token;
use crate::oauth::clients::certificate_thumbprint;

/// What the UserInfo endpoint may tell about an account.
#[derive(Clone, PartialEq, Eq)]
pub struct UserProfile {
    /// The stable opaque id (`sub`).
    pub id: String,
    /// The username (`preferred_username`).
    pub username: String,
    /// The display name (`name`; omitted when empty).
    pub display_name: String,
    /// The e-mail address (`email`; omitted when empty).
    pub email: String,
    /// Last profile change, unix seconds (`updated_at`).
    pub updated_at: i64,
}

impl std::fmt::Debug for UserProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data stays out of logs: the id only.
        f.debug_struct("UserProfile")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The boxed future of [`UserProfiles::profile`].
pub type ProfileFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<UserProfile>, String>> + Send + 'a>>;

/// Reads accounts for the UserInfo endpoint (the users store behind it).
pub trait UserProfiles: Send + Sync + 'static {
    /// The account with `id` if it exists and is enabled; `Ok(None)` otherwise. The error
    /// string is logged, never sent.
    fn profile<'a>(&'a self, id: &'a str) -> ProfileFuture<'a>;
}

/// An RFC 6750 §3 error: status, `WWW-Authenticate` and a JSON body.
fn bearer_error(status: StatusCode, error: Option<&'static str>, reason: &'static str) -> Response {
    tracing::info!(
        target: AUDIT,
        event = "oauth_userinfo",
        decision = "deny",
        reason,
    );
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"tessera\", error=\"{e}\""),
        None => "Bearer realm=\"tessera\"".to_owned(),
    };
    let body = match error {
        Some(e) => json!({"error": e}),
        None => json!({"error": "invalid_request"}),
    };
    let mut response = no_store((status, Json(body)).into_response());
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn invalid_token(reason: &'static str) -> Response {
    bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token"), reason)
}

/// The bearer token of the `Authorization` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// RFC 8705 §3: a certificate-bound token (`cnf.x5t#S256`) is accepted only on a connection
/// presenting that same certificate; an unbound token from any connection.
fn holder_of_key(claims: &Map<String, Value>, certificate: Option<&ClientCertificate>) -> bool {
    let Some(cnf) = claims.get("cnf") else {
        return true;
    };
    let Some(bound) = cnf.get("x5t#S256").and_then(Value::as_str) else {
        // A confirmation method we do not know cannot be checked: refuse.
        return false;
    };
    certificate
        .and_then(|c| c.0.first())
        .is_some_and(|leaf| certificate_thumbprint(leaf.as_ref()) == bound)
}

/// The claims of `profile` the granted `scopes` allow.
pub(crate) fn claims_for(profile: &UserProfile, scopes: &[&str]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(profile.id));
    if scopes.contains(&"profile") {
        if !profile.display_name.is_empty() {
            claims.insert("name".into(), json!(profile.display_name));
        }
        claims.insert("preferred_username".into(), json!(profile.username));
        claims.insert("updated_at".into(), json!(profile.updated_at));
    }
    if scopes.contains(&"email") && !profile.email.is_empty() {
        claims.insert("email".into(), json!(profile.email));
        claims.insert("email_verified".into(), json!(false));
    }
    claims
}

/// `GET` and `POST /oauth2/userinfo`.
pub(crate) async fn userinfo<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
    certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let Some(token) = bearer(&headers) else {
        return bearer_error(StatusCode::UNAUTHORIZED, None, "no_bearer_token");
    };
    let jwks = shared.signer.jwks();
    let Some(claims) = verify_access_token(token, &jwks, &shared.config.issuer, now) else {
        return invalid_token("token_not_valid");
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match shared.denylist.contains(jti, now).await {
        Ok(false) => {}
        Ok(true) => return invalid_token("token_revoked"),
        Err(e) => {
            tracing::warn!(error = %e, "revocation denylist");
            return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    }
    if !holder_of_key(&claims, certificate.as_ref().map(|Extension(c)| c)) {
        return invalid_token("certificate_binding_mismatch");
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let client_id = claims.get("client_id").and_then(Value::as_str);
    // A client's own token (client_credentials: sub = client_id) is about no user.
    if sub.is_empty() || client_id == Some(sub) {
        return invalid_token("not_a_user_token");
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&OPENID) {
        return bearer_error(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "no_openid_scope",
        );
    }
    let Some(users) = shared.users.get() else {
        tracing::warn!("userinfo requested but no user store is configured");
        return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    let profile = match users.profile(sub).await {
        Ok(Some(profile)) => profile,
        Ok(None) => return invalid_token("unknown_or_disabled_user"),
        Err(detail) => {
            tracing::warn!(%detail, "user store unavailable");
            return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    };
    tracing::info!(
        target: AUDIT,
        event = "oauth_userinfo",
        client_id = client_id.unwrap_or("-"),
        user_id = sub,
        decision = "allow",
        scope,
    );
    no_store(Json(Value::Object(claims_for(&profile, &scopes))).into_response())
}
