//! The token-exchange branch of `POST /oauth2/token` (RFC 8693 §2): parameters, subject
//! validation, the policy decision, signing, the §2.2.1 response and audit events.

use std::time::SystemTime;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::endpoints::{AUDIT, no_store};
use super::error::{ErrorCode, OAuthError};
use super::grant;
use super::ports::{AuthenticatedClient, SignFailure, TokenSigner};
use super::request::Form;
use super::server::Shared;
use crate::oauth::exchange::{
    ACCESS_TOKEN_TYPE, ExchangeError, ExchangeRequest, IssueContext, Subject, TokenExchange,
    check_client, decide,
};

/// Audit event of every exchange decision.
const EVENT: &str = "oauth_token_exchange";

/// Handles a token-exchange request of an authenticated `client`.
pub(super) async fn exchange_token<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    exchange: &TokenExchange,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Response {
    let mut subject: Option<Subject> = None;
    match issue(shared, exchange, client, form, now, &mut subject).await {
        Ok((access_token, issued)) => {
            tracing::info!(
                target: AUDIT,
                event = EVENT,
                client_id = client.client_id.as_str(),
                subject = subject.as_ref().map_or("-", |s| s.id.as_str()),
                decision = "allow",
                reason = "token_exchange",
                aud = %issued.audiences.join(" "),
                scope = %issued.scope,
                jti = %issued.claims.get("jti").cloned().unwrap_or_default(),
                expires_in = issued.expires_in,
            );
            no_store(
                Json(json!({
                    "access_token": access_token,
                    "issued_token_type": ACCESS_TOKEN_TYPE,
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in,
                    "scope": issued.scope,
                }))
                .into_response(),
            )
        }
        Err(e) => {
            let requested: Vec<&str> = audiences(form);
            match &e {
                ExchangeError::Unavailable(detail) => {
                    tracing::warn!(%detail, "token exchange dependency unavailable");
                }
                ExchangeError::Subject(detail) => {
                    tracing::debug!(%detail, "subject token rejected");
                }
                _ => {}
            }
            tracing::info!(
                target: AUDIT,
                event = EVENT,
                client_id = client.client_id.as_str(),
                subject = subject.as_ref().map_or("-", |s| s.id.as_str()),
                decision = "deny",
                reason = e.reason(),
                detail = %e,
                aud = %requested.join(" "),
            );
            to_oauth(&e).into_response()
        }
    }
}

fn audiences(form: &Form) -> Vec<&str> {
    form.all("audience")
        .iter()
        .chain(form.all("resource"))
        .map(String::as_str)
        .collect()
}

/// Validates, decides and signs; records the subject once known (for the audit event).
async fn issue<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    exchange: &TokenExchange,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
    subject_out: &mut Option<Subject>,
) -> Result<(String, crate::oauth::exchange::Exchanged), ExchangeError> {
    check_client(client)?;
    if form.get("actor_token").is_some() || form.get("actor_token_type").is_some() {
        return Err(ExchangeError::BadRequest(
            "delegation (actor_token) is not supported",
        ));
    }
    match form.get("requested_token_type") {
        None | Some(ACCESS_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(ExchangeError::BadRequest(
                "requested_token_type must be urn:ietf:params:oauth:token-type:access_token",
            ));
        }
    }
    let token = form
        .get("subject_token")
        .ok_or(ExchangeError::BadRequest("subject_token is required"))?;
    let token_type = form
        .get("subject_token_type")
        .ok_or(ExchangeError::BadRequest("subject_token_type is required"))?;
    let subject = exchange.subjects.validate(token, token_type, now).await?;
    let subject = subject_out.insert(subject);
    let jti = grant::new_jti().map_err(|_| ExchangeError::Unavailable("no randomness".into()))?;
    let request = ExchangeRequest {
        audiences: audiences(form),
        scope: form.get("scope"),
    };
    let ctx = IssueContext {
        issuer: &shared.config.issuer,
        default_ttl: shared.config.access_token_ttl,
        signing_deadline: shared.signer.signing_deadline(),
        jti: &jti,
        now,
    };
    let issued = decide(client, subject, &exchange.policies, &request, &ctx)?;
    let access_token = shared
        .signer
        .sign(now, &issued.claims, "at+jwt")
        .map_err(|failure| match failure {
            SignFailure::Unavailable(m) | SignFailure::Failed(m) => {
                ExchangeError::Unavailable(format!("signing: {m}"))
            }
        })?;
    Ok((access_token, issued))
}

/// The RFC 6749 / RFC 8693 error for a refused exchange.
fn to_oauth(e: &ExchangeError) -> OAuthError {
    let code = match e {
        ExchangeError::UnauthorizedClient => ErrorCode::UnauthorizedClient,
        ExchangeError::BadRequest(_) | ExchangeError::Subject(_) | ExchangeError::NoPolicy => {
            ErrorCode::InvalidRequest
        }
        ExchangeError::Target(_) => ErrorCode::InvalidTarget,
        ExchangeError::Scope => ErrorCode::InvalidScope,
        ExchangeError::Unavailable(_) => ErrorCode::Unavailable,
    };
    OAuthError::new(code, e.description())
}
