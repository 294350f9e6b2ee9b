//! The `refresh_token` grant (RFC 6749 §6) at `POST /oauth2/token`: rotation with reuse
//! detection is [`crate::oauth::grants`]'s; this turns the refreshed grant into an RFC 9068
//! access token for the user, plus the rotated refresh token.

use std::time::SystemTime;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::endpoints::{self, AUDIT, no_store, sign_access_token};
use super::error::{ErrorCode, OAuthError};
use super::grant::{self, AccessToken, REFRESH_TOKEN};
use super::ports::{AuthenticatedClient, ClientAuthenticator, TokenSigner};
use super::request::Form;
use super::server::Shared;
use crate::oauth::grants::{GrantService, RefreshError};

const EVENT: &str = "oauth_refresh";

/// `refresh_token` on a server built without grants (see `OAuthServer::with_grants`).
pub(crate) const REFRESH_OFF: OAuthError = OAuthError::new(
    ErrorCode::UnsupportedGrantType,
    "refresh tokens are not enabled",
);

const INVALID_GRANT: OAuthError = OAuthError::new(
    ErrorCode::InvalidGrant,
    "the refresh token is invalid, expired or revoked",
);

fn refuse(error: OAuthError, client_id: &str, reason: &'static str) -> Response {
    tracing::info!(
        target: AUDIT,
        event = EVENT,
        client_id,
        decision = "deny",
        reason,
        error = error.wire_code(),
    );
    error.into_response()
}

/// The grant's scopes the client is still registered for (a scope removed from the client
/// after the grant started is no longer issued).
fn still_allowed(granted: &[String], client: &AuthenticatedClient) -> Vec<String> {
    granted
        .iter()
        .filter(|s| client.scopes.contains(s))
        .cloned()
        .collect()
}

/// Handles an authenticated `grant_type=refresh_token` request.
pub(crate) async fn refresh_token<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    grants: &dyn GrantService,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Response {
    let id = client.client_id.as_str();
    if !client.grant_types.iter().any(|g| g == REFRESH_TOKEN) {
        let e = OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use refresh_token",
        );
        return refuse(e, id, "grant_type_not_allowed");
    }
    let Some(presented) = form.get("refresh_token") else {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "refresh_token is required");
        return refuse(e, id, "missing_refresh_token");
    };
    let requested = form.get("scope");
    let targets: Vec<&str> = form
        .all("resource")
        .iter()
        .chain(form.all("audience"))
        .map(String::as_str)
        .collect();
    let audiences = match grant::granted_audiences(client, &targets, &shared.config.issuer) {
        Ok(a) => a,
        Err(e) => return refuse(e, id, "target_not_allowed"),
    };
    // A narrower scope is checked before the token is rotated, so a bad request does not
    // cost the client its token. A token that is not current is left to `refresh`, which
    // decides between invalid and reuse.
    if requested.is_some() {
        match grants.inspect(id, presented, now).await {
            Ok(Some(info)) => {
                let allowed = still_allowed(&info.grant.scopes, client);
                if let Err(e) = grant::scopes_within(&allowed, requested) {
                    return refuse(e, id, "scope_not_granted");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "grants unavailable");
                let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
                return refuse(e, id, "unavailable");
            }
        }
    }
    let (active, rotated) = match grants.refresh(id, presented, now).await {
        Ok(done) => done,
        Err(RefreshError::InvalidGrant) => return refuse(INVALID_GRANT, id, "invalid_grant"),
        Err(RefreshError::ReuseDetected) => return refuse(INVALID_GRANT, id, "reuse_detected"),
        Err(RefreshError::Unavailable(detail)) => {
            tracing::warn!(%detail, "grants unavailable");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            return refuse(e, id, "unavailable");
        }
    };
    // Scopes narrow at every refresh: only those the client may still request. The
    // grant's scopes cannot change, so what passed above still passes.
    let allowed = still_allowed(&active.scopes, client);
    let scopes = match grant::scopes_within(&allowed, requested) {
        Ok(s) => s,
        Err(e) => return refuse(e, id, "scope_not_granted"),
    };
    let jti = match grant::new_jti() {
        Ok(jti) => jti,
        Err(e) => return refuse(e, id, "internal"),
    };
    let spec = AccessToken {
        subject: &active.user_id,
        client,
        audiences,
        scopes,
        jti: &jti,
    };
    let issuance = match grant::access_token_claims(
        &spec,
        &shared.config.issuer,
        shared.config.access_token_ttl,
        shared.signer.signing_deadline(),
        now,
    ) {
        Ok(issuance) => issuance,
        Err(e) => return refuse(e, id, "no_signing_key"),
    };
    let access_token = match sign_access_token(&shared.signer, &issuance, now) {
        Ok(token) => token,
        Err(e) => return refuse(e, id, "signing_failed"),
    };
    tracing::info!(
        target: AUDIT,
        event = EVENT,
        client_id = id,
        decision = "allow",
        reason = "issued",
        grant_id = %active.grant_id,
        user_id = %active.user_id,
        scope = %issuance.scope,
        jti = %jti,
        expires_in = issuance.expires_in,
    );
    no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": issuance.expires_in,
            "scope": issuance.scope,
            "refresh_token": rotated.expose(),
        }))
        .into_response(),
    )
}

/// Introspection of one of the caller's own refresh tokens (RFC 7662): `Some` answer when
/// `token` is a current refresh token of the calling client, `None` to fall through.
pub(super) async fn introspect_refresh<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Option<Response> {
    let grants = shared.grants()?;
    let token = form.get("token")?;
    let info = match grants.inspect(&client.client_id, token, now).await {
        Ok(info) => info?,
        Err(e) => {
            tracing::warn!(error = %e, "grants unavailable");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            return Some(endpoints::refuse(
                "oauth_introspect",
                e,
                Some(&client.client_id),
            ));
        }
    };
    tracing::info!(
        target: AUDIT,
        event = "oauth_introspect",
        client_id = client.client_id.as_str(),
        decision = "allow",
        reason = "active_refresh_token",
        grant_id = %info.grant.grant_id,
    );
    Some(no_store(
        Json(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": info.grant.client_id,
            "sub": info.grant.user_id,
            "scope": info.grant.scopes.join(" "),
            "exp": info.expires_at,
        }))
        .into_response(),
    ))
}

/// RFC 7009 for a token that is not one of our JWTs: tried as a refresh token of the
/// calling client (`token_type_hint` is only a hint: both kinds are always tried).
pub(super) async fn revoke_refresh<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Result<&'static str, Response> {
    let (Some(grants), Some(token)) = (shared.grants(), form.get("token")) else {
        return Ok("unknown_token");
    };
    match grants.revoke_token(&client.client_id, token, now).await {
        Ok(true) => Ok("revoked"),
        Ok(false) => Ok("unknown_token"),
        Err(e) => {
            tracing::warn!(error = %e, "grants unavailable");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            Err(endpoints::refuse(
                "oauth_revoke",
                e,
                Some(&client.client_id),
            ))
        }
    }
}
