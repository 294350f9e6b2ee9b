//! Device authorization grant (RFC 8628): `POST /oauth2/device_authorization` and token
//! polling with `grant_type=urn:ietf:params:oauth:grant-type:device_code`. The decisions
//! live in [`crate::oauth::device`]; tokens are issued like for authorization codes
//! ([`super::code::issue_user_tokens`]). Audit events never carry a code or a token.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::code::{self, Refusal, refusal};
use super::endpoints::{AUDIT, authenticate, no_store, refuse};
use super::error::{ErrorCode, OAuthError};
use super::grant;
use super::ports::{AuthenticatedClient, ClientAuthenticator, TokenSigner};
use super::request::{self, Form};
use super::server::Shared;
use crate::oauth::codes::CodeGrant;
use crate::oauth::device::{DEVICE_CODE_GRANT, Poll};

/// Audit event of device authorization requests.
const EVENT_AUTHORIZE: &str = "oauth_device_authorization";

/// Audit event of device-code polls.
const EVENT_POLL: &str = "oauth_device_code";

const NOT_ALLOWED: OAuthError = OAuthError::new(
    ErrorCode::UnauthorizedClient,
    "the client may not use the device_code grant",
);

fn may_use_device_grant(client: &AuthenticatedClient) -> bool {
    client.grant_types.iter().any(|g| g == DEVICE_CODE_GRANT)
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2).
pub(crate) async fn device_authorization<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let now = shared.clock.now();
    let form = match request::read_form(
        &parts.headers,
        body,
        shared.config.max_body_bytes,
        shared.config.body_read_timeout,
    )
    .await
    {
        Ok(form) => form,
        Err(e) => return refuse(EVENT_AUTHORIZE, e, None),
    };
    let client = match authenticate(&shared, &parts, &form, now).await {
        Ok(client) => client,
        Err((e, claimed)) => return refuse(EVENT_AUTHORIZE, e, claimed.as_deref()),
    };
    let id = client.client_id.as_str();
    if !may_use_device_grant(&client) {
        return refuse(EVENT_AUTHORIZE, NOT_ALLOWED, Some(id));
    }
    let scopes = match grant::scopes_within(&client.scopes, form.get("scope")) {
        Ok(scopes) => scopes,
        Err(e) => return refuse(EVENT_AUTHORIZE, e, Some(id)),
    };
    let scope = scopes.join(" ");
    let issued = match shared.device.issue(id, scopes, now).await {
        Ok(issued) => issued,
        Err(e) => {
            tracing::warn!(error = %e, "issuing a device code failed");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            return refuse(EVENT_AUTHORIZE, e, Some(id));
        }
    };
    tracing::info!(
        target: AUDIT,
        event = EVENT_AUTHORIZE,
        client_id = id,
        decision = "allow",
        reason = "issued",
        scope = %scope,
        expires_in = issued.expires_in,
    );
    let verification_uri = shared.config.url("/oauth2/device");
    let complete = format!("{verification_uri}?user_code={}", issued.user_code);
    no_store(
        Json(json!({
            "device_code": issued.device_code.as_str(),
            "user_code": issued.user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": complete,
            "expires_in": issued.expires_in,
            "interval": issued.interval,
        }))
        .into_response(),
    )
}

/// Handles `grant_type=urn:ietf:params:oauth:grant-type:device_code` for `client`.
pub(super) async fn poll<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Response {
    let result = redeem(shared, client, form, now).await;
    code::answer(EVENT_POLL, client, result)
}

async fn redeem<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Result<code::Tokens, Refusal> {
    if !may_use_device_grant(client) {
        return Err(refusal(NOT_ALLOWED, "grant_not_allowed"));
    }
    let device_code = form.get("device_code").ok_or_else(|| {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "device_code is required");
        refusal(e, "missing_device_code")
    })?;
    let polled = shared
        .device
        .poll(device_code, &client.client_id, now)
        .await;
    let grant = match polled.map_err(|e| code::state_unavailable(&e))? {
        Poll::Approved(grant) => grant,
        Poll::Replayed(issued) => {
            code::revoke_issued(shared, &issued, now).await;
            return Err(poll_refusal(&Poll::Replayed(issued)));
        }
        other => return Err(poll_refusal(&other)),
    };
    // The ID token and refresh family are built from the same fields as for a code.
    let user = CodeGrant {
        client_id: grant.client_id,
        redirect_uri: String::new(),
        user_id: grant.approval.user_id,
        scopes: grant.scopes,
        code_challenge: String::new(),
        nonce: None,
        auth_time: grant.approval.auth_time,
        amr: grant.approval.amr,
    };
    let targets: Vec<&str> = form.all("resource").iter().map(String::as_str).collect();
    let from = code::IssuedFrom::Device(device_code);
    code::issue_user_tokens(shared, client, &user, &targets, now, from).await
}

/// The error answer of a poll that issues nothing (RFC 8628 §3.5).
fn poll_refusal(poll: &Poll) -> Refusal {
    let (code, description, reason) = match poll {
        Poll::Pending => (
            ErrorCode::AuthorizationPending,
            "the user has not yet approved the request",
            "pending",
        ),
        Poll::SlowDown => (
            ErrorCode::SlowDown,
            "polling too fast: the interval grew by 5 seconds",
            "slow_down",
        ),
        Poll::Expired => (
            ErrorCode::ExpiredToken,
            "the device code expired",
            "expired",
        ),
        Poll::Denied => (
            ErrorCode::AccessDenied,
            "the user denied the request",
            "denied",
        ),
        Poll::Replayed(_) => (
            ErrorCode::InvalidGrant,
            "the device code is invalid, already used or another client's",
            "replayed_device_code",
        ),
        Poll::Invalid | Poll::Approved(_) => (
            ErrorCode::InvalidGrant,
            "the device code is invalid, already used or another client's",
            "unknown_spent_or_other_client",
        ),
    };
    refusal(OAuthError::new(code, description), reason)
}
