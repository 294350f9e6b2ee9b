//! The `authorization_code` grant of `POST /oauth2/token` (RFC 6749 §4.1.3, RFC 7636,
//! RFC 9700 §4.2): single-use codes bound to client and redirect URI, PKCE S256 always,
//! a replay revokes what the code issued (access tokens and the refresh family); an ID token
//! when `openid` was granted, a refresh token when the client may use `refresh_token`.

use std::time::SystemTime;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_proto::clock::from_unix_seconds;

use super::endpoints::{AUDIT, no_store};
use super::error::{ErrorCode, OAuthError};
use super::grant::{self, AccessToken};
use super::id_token::{self, ID_TOKEN_TYP, OPENID};
use super::pkce;
use super::ports::{AuthenticatedClient, SignFailure, TokenSigner};
use super::request::Form;
use super::server::Shared;
use crate::oauth::codes::{CodeGrant, Issued, Redemption};
use crate::oauth::grants::{GrantStart, RefreshToken};
use crate::oauth::state::StateError;

/// The grant type.
pub(crate) const AUTHORIZATION_CODE: &str = "authorization_code";

/// Audit event of every code redemption decision (never the code or a token).
const EVENT: &str = "oauth_code";

const BAD_CODE: OAuthError = OAuthError::new(
    ErrorCode::InvalidGrant,
    "the authorization code is invalid, expired or already used",
);

/// Why a redemption was refused: the answer and the audit reason.
pub(super) struct Refusal {
    pub(super) error: OAuthError,
    pub(super) reason: &'static str,
}

pub(super) fn refusal(error: OAuthError, reason: &'static str) -> Refusal {
    Refusal { error, reason }
}

/// The datastore holding codes and device codes failed: `503 temporarily_unavailable`.
pub(super) fn state_unavailable(e: &StateError) -> Refusal {
    tracing::warn!(error = %e, "OAuth state store");
    let error = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
    refusal(error, "state_store_unavailable")
}

/// The code a user grant was redeemed from, where what it issues is recorded.
#[derive(Clone, Copy)]
pub(super) enum IssuedFrom<'a> {
    /// An authorization code.
    Code(&'a str),
    /// A device code.
    Device(&'a str),
}

/// What a successful redemption answers.
pub(super) struct Tokens {
    access_token: String,
    id_token: Option<String>,
    scope: String,
    expires_in: i64,
    jti: String,
    user_id: String,
    refresh_token: Option<RefreshToken>,
}

/// Handles `grant_type=authorization_code` for an authenticated `client`.
pub(super) async fn redeem<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Response {
    let result = tokens(shared, client, form, now).await;
    answer(EVENT, client, result)
}

/// The token response (or error) for a user grant, audited as `event`.
pub(super) fn answer(
    event: &'static str,
    client: &AuthenticatedClient,
    result: Result<Tokens, Refusal>,
) -> Response {
    let client_id = client.client_id.as_str();
    match result {
        Ok(t) => {
            tracing::info!(
                target: AUDIT,
                event,
                client_id,
                user_id = t.user_id.as_str(),
                decision = "allow",
                reason = "issued",
                scope = %t.scope,
                jti = %t.jti,
                id_token = t.id_token.is_some(),
                refresh_token = t.refresh_token.is_some(),
                expires_in = t.expires_in,
            );
            let mut body = Map::new();
            body.insert("access_token".into(), json!(t.access_token));
            body.insert("token_type".into(), json!("Bearer"));
            body.insert("expires_in".into(), json!(t.expires_in));
            body.insert("scope".into(), json!(t.scope));
            if let Some(id_token) = t.id_token {
                body.insert("id_token".into(), json!(id_token));
            }
            if let Some(refresh) = &t.refresh_token {
                body.insert("refresh_token".into(), json!(refresh.expose()));
            }
            no_store(Json(Value::Object(body)).into_response())
        }
        Err(Refusal { error, reason }) => {
            tracing::info!(
                target: AUDIT,
                event,
                client_id,
                decision = "deny",
                reason,
                detail = error.description,
            );
            error.into_response()
        }
    }
}

/// Revokes what a replayed code issued: its access tokens (denylist) and refresh family.
pub(super) async fn revoke_issued<A, S>(shared: &Shared<A, S>, issued: &Issued, now: SystemTime) {
    for (jti, exp) in &issued.access_tokens {
        let until = from_unix_seconds(*exp);
        if let Err(e) = shared.denylist.insert(jti, until, now).await {
            tracing::error!(error = %e, "revoking an access token of a replayed code failed");
        }
    }
    if let (Some(grant_id), Some(grants)) = (&issued.grant_id, shared.grants())
        && let Err(e) = grants.revoke_grant(grant_id).await
    {
        tracing::error!(error = %e, "revoking the refresh family of a replayed code failed");
    }
    tracing::info!(
        target: AUDIT,
        event = EVENT,
        client_id = issued.client_id.as_str(),
        decision = "revoke",
        reason = "replay",
        access_tokens = issued.access_tokens.len(),
        refresh_family = issued.grant_id.is_some(),
    );
}

/// Redeems the code after checking it against the request (client, redirect URI, PKCE):
/// a request that fails a check leaves the code and what it issued untouched.
async fn redeem_checked<A, S>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    code: &str,
    form: &Form,
    now: SystemTime,
) -> Result<CodeGrant, Refusal> {
    let redemption = shared
        .codes
        .redeem(code, now, |grant| check_request(client, form, grant))
        .await
        .map_err(|e| state_unavailable(&e))?;
    match redemption {
        Redemption::Fresh(grant) => Ok(grant),
        Redemption::Invalid => Err(refusal(BAD_CODE, "unknown_or_expired_code")),
        Redemption::Rejected(refused) => Err(refused),
        Redemption::Replayed(issued) => {
            revoke_issued(shared, &issued, now).await;
            Err(refusal(BAD_CODE, "replayed_code"))
        }
    }
}

/// Whether this request may use the code of `grant`: the same client, the same redirect URI
/// (RFC 6749 §4.1.3, always sent) and the PKCE verifier of the challenge.
fn check_request(
    client: &AuthenticatedClient,
    form: &Form,
    grant: &CodeGrant,
) -> Result<(), Refusal> {
    if grant.client_id != client.client_id {
        return Err(refusal(BAD_CODE, "code_of_another_client"));
    }
    if form.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        let e = OAuthError::new(
            ErrorCode::InvalidGrant,
            "redirect_uri does not match the authorization request",
        );
        return Err(refusal(e, "redirect_uri_mismatch"));
    }
    let verified = form
        .get("code_verifier")
        .is_some_and(|verifier| pkce::verify_s256(verifier, &grant.code_challenge));
    if !verified {
        let e = OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier is missing or does not match the code challenge",
        );
        return Err(refusal(e, "pkce_failed"));
    }
    Ok(())
}

fn sign<S: TokenSigner>(
    signer: &S,
    now: SystemTime,
    claims: &Map<String, Value>,
    typ: &str,
) -> Result<String, Refusal> {
    signer.sign(now, claims, typ).map_err(|failure| {
        tracing::error!(error = %failure, "oauth token signing failed");
        let code = match failure {
            SignFailure::Unavailable(_) => ErrorCode::Unavailable,
            SignFailure::Failed(_) => ErrorCode::Internal,
        };
        refusal(
            OAuthError::new(code, "could not issue a token"),
            "signing_failed",
        )
    })
}

async fn tokens<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Result<Tokens, Refusal> {
    if !client.grant_types.iter().any(|g| g == AUTHORIZATION_CODE) {
        let e = OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use authorization_code",
        );
        return Err(refusal(e, "grant_not_allowed"));
    }
    let code = form.get("code").ok_or_else(|| {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "code is required");
        refusal(e, "missing_code")
    })?;
    let grant = redeem_checked(shared, client, code, form, now).await?;
    let targets: Vec<&str> = form.all("resource").iter().map(String::as_str).collect();
    issue_user_tokens(
        shared,
        client,
        &grant,
        &targets,
        now,
        IssuedFrom::Code(code),
    )
    .await
}

/// Issues the tokens of a user grant (authorization code or device code): an access token
/// (`sub` = user), an ID token when `openid` was granted, a refresh token when the client may
/// refresh. The refresh family and the access token's (`jti`, `exp`) are recorded on the
/// code (`from`) before anything is signed.
pub(super) async fn issue_user_tokens<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    grant: &CodeGrant,
    targets: &[&str],
    now: SystemTime,
    from: IssuedFrom<'_>,
) -> Result<Tokens, Refusal> {
    account_live(shared, &grant.user_id).await?;
    let audiences = grant::granted_audiences(client, targets, &shared.config.issuer)
        .map_err(|e| refusal(e, "target_not_allowed"))?;
    let jti = grant::new_jti().map_err(|e| refusal(e, "no_randomness"))?;
    let spec = AccessToken {
        subject: &grant.user_id,
        client,
        audiences,
        scopes: grant.scopes.clone(),
        jti: &jti,
    };
    let issuance = grant::access_token_claims(
        &spec,
        &shared.config.issuer,
        shared.config.access_token_ttl,
        shared.signer.signing_deadline(),
        now,
    )
    .map_err(|e| refusal(e, "no_signing_key"))?;
    let exp = issuance
        .claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let refresh = start_refresh_family(shared, client, grant, now).await?;
    // Recorded before signing: a replay racing this request still revokes the tokens.
    let grant_id = refresh.as_ref().map(|(id, _)| id.clone());
    let access = (jti.clone(), exp);
    let recorded = match from {
        IssuedFrom::Code(code) => {
            shared
                .codes
                .record_issued(code, grant_id, access, now)
                .await
        }
        IssuedFrom::Device(code) => {
            shared
                .device
                .record_issued(code, grant_id, access, now)
                .await
        }
    };
    recorded.map_err(|e| state_unavailable(&e))?;
    let access_token = sign(&shared.signer, now, &issuance.claims, "at+jwt")?;
    let id_token = if grant.scopes.iter().any(|s| s == OPENID) {
        let claims = id_token::claims(grant, &issuance.claims, &access_token);
        Some(sign(&shared.signer, now, &claims, ID_TOKEN_TYP)?)
    } else {
        None
    };
    Ok(Tokens {
        access_token,
        id_token,
        scope: issuance.scope,
        expires_in: issuance.expires_in,
        jti,
        user_id: grant.user_id.clone(),
        refresh_token: refresh.map(|(_, token)| token),
    })
}

/// The user behind a code or device approval must still exist and be enabled when the
/// tokens are issued: disabling an account ends what it approved at once.
async fn account_live<A, S>(shared: &Shared<A, S>, user_id: &str) -> Result<(), Refusal> {
    let Some(users) = shared.users.get() else {
        return Ok(());
    };
    match users.profile(user_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            let e = OAuthError::new(
                ErrorCode::InvalidGrant,
                "the user account is disabled or deleted",
            );
            Err(refusal(e, "user_disabled_or_deleted"))
        }
        Err(detail) => {
            tracing::error!(%detail, "reading the account of a user grant");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            Err(refusal(e, "users_unavailable"))
        }
    }
}

/// Starts a refresh-token family when the client may use the `refresh_token` grant.
async fn start_refresh_family<A, S>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    grant: &CodeGrant,
    now: SystemTime,
) -> Result<Option<(String, RefreshToken)>, Refusal> {
    let Some(grants) = shared.grants() else {
        return Ok(None);
    };
    if !client.grant_types.iter().any(|g| g == grant::REFRESH_TOKEN) {
        return Ok(None);
    }
    let start = GrantStart {
        user_id: grant.user_id.clone(),
        client_id: grant.client_id.clone(),
        scopes: grant.scopes.clone(),
        auth_time: grant.auth_time,
        amr: grant.amr.clone(),
    };
    grants.start(start, now).await.map(Some).map_err(|e| {
        tracing::error!(error = %e, "starting a refresh-token family failed");
        refusal(
            OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable"),
            "grants_unavailable",
        )
    })
}
