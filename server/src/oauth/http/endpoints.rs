//! `POST /oauth2/token`, `/oauth2/introspect` and `/oauth2/revoke`: thin handlers over
//! [`super::grant`], [`super::verify`] and the in-memory limits.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;

use crate::oauth::device::DEVICE_CODE_GRANT;
use crate::oauth::exchange::TOKEN_EXCHANGE_GRANT;

use super::error::{ErrorCode, OAuthError};
use super::grant::{self, GrantRequest};
use super::limits::BucketKey;
use super::ports::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, ClientCertificate,
    PresentedCredentials, SignFailure, TokenSigner,
};
use super::refresh;
use super::request::{self, Form, source_address};
use super::server::Shared;
use super::token_metrics;
use super::verify::{Claims, verify_access_token};
use super::{api_key, code, device, exchange};
use crate::metrics::TokenRequestSeen;

/// Audit target for every OAuth decision.
pub(super) const AUDIT: &str = "tessera::audit";

/// Authenticates the caller (exactly one method) and applies its rate limit.
pub(super) async fn authenticate<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    parts: &Parts,
    form: &Form,
    now: SystemTime,
) -> Result<AuthenticatedClient, (OAuthError, Option<String>)> {
    let presented = request::credentials(&parts.headers, form).map_err(|e| (e, None))?;
    let claimed = presented.claimed_client_id().map(str::to_owned);
    let token_endpoint = shared.config.url("/oauth2/token");
    let endpoint = shared.config.url(parts.uri.path());
    let context = AuthContext {
        now,
        issuer: &shared.config.issuer,
        token_endpoint: &token_endpoint,
        endpoint: &endpoint,
        peer_certificate: parts.extensions.get::<ClientCertificate>(),
    };
    let client = match shared
        .authenticator
        .authenticate(&presented, &context)
        .await
    {
        Ok(client) => client,
        Err(ClientAuthFailure::Invalid) => {
            let e = OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");
            return Err((e, claimed));
        }
        Err(ClientAuthFailure::Unavailable(detail)) => {
            tracing::warn!(%detail, "oauth client store unavailable");
            let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
            return Err((e, claimed));
        }
    };
    // A public client is an app in many users' hands: one bucket per client and source
    // address, so one busy user does not throttle everyone else.
    let public = matches!(presented, PresentedCredentials::Certificate { .. })
        && parts.extensions.get::<ClientCertificate>().is_none();
    let bucket = if public {
        BucketKey::public(&client.client_id, source_address(&parts.extensions))
    } else {
        BucketKey::Client(client.client_id.clone())
    };
    if let Err(retry_after_secs) = shared.limiter.check(&bucket, now) {
        let e = OAuthError::new(
            ErrorCode::RateLimited { retry_after_secs },
            "rate limit exceeded",
        );
        return Err((e, claimed));
    }
    // Only an admitted request spends room in the assertion replay cache (issue 11 §11).
    if let Some(single_use) = &client.single_use {
        match shared
            .authenticator
            .use_once(&client.client_id, single_use, now)
            .await
        {
            Ok(()) => {}
            Err(ClientAuthFailure::Invalid) => {
                let e = OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");
                return Err((e, claimed));
            }
            Err(ClientAuthFailure::Unavailable(detail)) => {
                tracing::warn!(%detail, "assertion replay cache");
                let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
                return Err((e, claimed));
            }
        }
    }
    Ok(client)
}

/// Logs a refusal as an audit event and turns it into the response.
pub(super) fn refuse(event: &'static str, error: OAuthError, client_id: Option<&str>) -> Response {
    tracing::info!(
        target: AUDIT,
        event,
        client_id = client_id.unwrap_or("-"),
        decision = "deny",
        reason = error.wire_code(),
        detail = error.description,
    );
    error.into_response()
}

pub(super) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `POST /oauth2/token` (client_credentials; token exchange in [`super::exchange`],
/// authorization codes in [`super::code`]).
pub(crate) async fn token<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
    request: Request,
) -> Response {
    let start = tokio::time::Instant::now();
    let mut seen = TokenRequestSeen::default();
    let response = answer_token(&shared, request, &mut seen).await;
    if let Some(metrics) = shared.metrics.get() {
        metrics.record(seen, token_metrics::result_of(&response), start.elapsed());
    }
    response
}

/// [`token`]'s answer, noting in `seen` what the metrics label.
async fn answer_token<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    request: Request,
    seen: &mut TokenRequestSeen,
) -> Response {
    let (parts, body) = request.into_parts();
    const EVENT: &str = "oauth_token_refused";
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
        Err(e) => return refuse(EVENT, e, None),
    };
    seen.grant_type = Some(token_metrics::grant_type_of(form.get("grant_type")));
    seen.auth_method = Some(token_metrics::auth_method_of(
        &parts.headers,
        &form,
        &parts.extensions,
    ));
    if let Err(e) = grant::check_grant_type(form.get("grant_type")) {
        return refuse(EVENT, e, None);
    }
    let client = match authenticate(shared, &parts, &form, now).await {
        Ok(client) => client,
        Err((e, claimed)) => return refuse(EVENT, e, claimed.as_deref()),
    };
    if shared.metrics.get().is_some_and(|m| m.labels_client_ids()) {
        seen.client_id = Some(client.client_id.clone());
    }
    if api_key::is_api_key_exchange(&form) {
        return match shared.api_keys.get() {
            Some(keys) => {
                let source = source_address(&parts.extensions);
                api_key::exchange(shared, keys.as_ref(), &client, &form, source, now).await
            }
            None => refuse(EVENT, grant::EXCHANGE_OFF, Some(&client.client_id)),
        };
    }
    if form.get("grant_type") == Some(TOKEN_EXCHANGE_GRANT) {
        return match shared.exchange.get() {
            Some(x) => exchange::exchange_token(shared, x, &client, &form, now).await,
            None => refuse(EVENT, grant::EXCHANGE_OFF, Some(&client.client_id)),
        };
    }
    if form.get("grant_type") == Some(code::AUTHORIZATION_CODE) {
        return code::redeem(shared, &client, &form, now).await;
    }
    if form.get("grant_type") == Some(DEVICE_CODE_GRANT) {
        return device::poll(shared, &client, &form, now).await;
    }
    if form.get("grant_type") == Some(grant::REFRESH_TOKEN) {
        return match shared.grants() {
            Some(g) => refresh::refresh_token(shared, g, &client, &form, now).await,
            None => refuse(EVENT, refresh::REFRESH_OFF, Some(&client.client_id)),
        };
    }
    let id = client.client_id.as_str();
    let jti = match grant::new_jti() {
        Ok(jti) => jti,
        Err(e) => return refuse(EVENT, e, Some(id)),
    };
    let targets = form
        .all("resource")
        .iter()
        .chain(form.all("audience"))
        .map(String::as_str)
        .collect();
    let grant_request = GrantRequest {
        scope: form.get("scope"),
        targets,
        jti,
    };
    let issuance = match grant::decide(
        &client,
        &grant_request,
        &shared.config.issuer,
        shared.config.access_token_ttl,
        shared.signer.signing_deadline(),
        now,
    ) {
        Ok(issuance) => issuance,
        Err(e) => return refuse(EVENT, e, Some(id)),
    };
    let access_token = match sign_access_token(&shared.signer, &issuance, now) {
        Ok(token) => token,
        Err(e) => return refuse(EVENT, e, Some(id)),
    };
    tracing::info!(
        target: AUDIT,
        event = "oauth_token_issued",
        client_id = id,
        decision = "allow",
        reason = "client_credentials",
        scope = %issuance.scope,
        aud = %issuance.claims.get("aud").unwrap_or(&serde_json::Value::Null),
        jti = %grant_request.jti,
        expires_in = issuance.expires_in,
    );
    let answer = TokenAnswer {
        access_token: &access_token,
        expires_in: issuance.expires_in,
        scope: &issuance.scope,
        token_type: "Bearer",
    };
    no_store(Json(answer).into_response())
}

/// The `client_credentials` answer (RFC 6749 §5.1), serialized straight from the fields
/// (members in the order a `json!` map gave them).
#[derive(serde::Serialize)]
struct TokenAnswer<'a> {
    access_token: &'a str,
    expires_in: i64,
    scope: &'a str,
    token_type: &'static str,
}

/// Signs an access token (`typ: at+jwt`); a failure is logged and becomes a 503 / 500.
pub(super) fn sign_access_token<S: TokenSigner>(
    signer: &S,
    issuance: &grant::Issuance,
    now: SystemTime,
) -> Result<String, OAuthError> {
    signer
        .sign(now, &issuance.claims, "at+jwt")
        .map_err(|failure| {
            tracing::error!(error = %failure, "oauth token signing failed");
            let code = match failure {
                SignFailure::Unavailable(_) => ErrorCode::Unavailable,
                SignFailure::Failed(_) => ErrorCode::Internal,
            };
            OAuthError::new(code, "could not issue a token")
        })
}

/// Reads the form, authenticates the caller and returns its `token` parameter's claims.
async fn token_operation<A: ClientAuthenticator, S: TokenSigner>(
    shared: &Shared<A, S>,
    event: &'static str,
    parts: &Parts,
    body: Body,
    now: SystemTime,
) -> Result<(AuthenticatedClient, Form, Option<Claims>), Response> {
    let form = request::read_form(
        &parts.headers,
        body,
        shared.config.max_body_bytes,
        shared.config.body_read_timeout,
    )
    .await
    .map_err(|e| refuse(event, e, None))?;
    if event == INTROSPECT && is_public(&parts.headers, &parts.extensions, &form) {
        // Public clients prove nothing: introspection would answer anyone.
        let e = OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");
        return Err(refuse(event, e, None));
    }
    let client = authenticate(shared, parts, &form, now)
        .await
        .map_err(|(e, claimed)| refuse(event, e, claimed.as_deref()))?;
    let token = form.get("token").ok_or_else(|| {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "token is required");
        refuse(event, e, Some(&client.client_id))
    })?;
    let jwks = shared.signer.jwks();
    let claims = verify_access_token(token, &jwks, &shared.config.issuer, now);
    Ok((client, form, claims))
}

const INTROSPECT: &str = "oauth_introspect";

/// Only a `client_id` and no TLS client certificate: a public client (`none`), if any.
fn is_public(headers: &HeaderMap, extensions: &Extensions, form: &Form) -> bool {
    matches!(
        request::credentials(headers, form),
        Ok(PresentedCredentials::Certificate { .. })
    ) && extensions.get::<ClientCertificate>().is_none()
}

fn jti_of(claims: &Claims) -> &str {
    claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `POST /oauth2/introspect` (RFC 7662).
pub(crate) async fn introspect<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    const EVENT: &str = INTROSPECT;
    let now = shared.clock.now();
    let (client, form, claims) = match token_operation(&shared, EVENT, &parts, body, now).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if claims.is_none()
        && let Some(token) = form.get("token")
        && let Some((reason, answer)) = api_key::introspect(&shared, &client, token, now).await
    {
        return introspected(&client, reason, answer);
    }
    if claims.is_none()
        && let Some(answer) = refresh::introspect_refresh(&shared, &client, &form, now).await
    {
        return answer;
    }
    let active = match claims {
        Some(c) => match shared.denylist.contains(jti_of(&c), now).await {
            Ok(false) => Some(c),
            Ok(true) => None,
            Err(e) => {
                tracing::warn!(error = %e, "revocation denylist");
                let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
                return refuse(EVENT, e, Some(&client.client_id));
            }
        },
        None => None,
    };
    // Only the token's own client, or one allowed to introspect any token, learns about it
    // (issue 11 §8); anyone else gets the inactive answer.
    let (active, other_client) = match active {
        Some(c)
            if !client.introspect_any
                && c.get("client_id").and_then(Value::as_str) != Some(&client.client_id) =>
        {
            (None, true)
        }
        other => (other, false),
    };
    let (reason, answer) = match active {
        Some(c) => {
            let mut answer = serde_json::Map::new();
            answer.insert("active".into(), json!(true));
            for name in [
                "scope",
                "client_id",
                "sub",
                "aud",
                "iss",
                "exp",
                "iat",
                "jti",
                "cnf",
            ] {
                if let Some(v) = c.get(name) {
                    answer.insert(name.into(), v.clone());
                }
            }
            answer.insert("token_type".into(), json!("Bearer"));
            ("active", Value::Object(answer))
        }
        None if other_client => ("other_client", json!({"active": false})),
        None => ("inactive", json!({"active": false})),
    };
    introspected(&client, reason, answer)
}

/// The introspection `answer` to `client`, with its audit event.
fn introspected(client: &AuthenticatedClient, reason: &str, answer: Value) -> Response {
    tracing::info!(
        target: AUDIT,
        event = INTROSPECT,
        client_id = client.client_id.as_str(),
        decision = "allow",
        reason,
    );
    no_store(Json(answer).into_response())
}

/// `POST /oauth2/revoke` (RFC 7009): 200 whatever the token; only its own client revokes it.
pub(crate) async fn revoke<A: ClientAuthenticator, S: TokenSigner>(
    State(shared): State<Arc<Shared<A, S>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    const EVENT: &str = "oauth_revoke";
    let now = shared.clock.now();
    let (client, form, claims) = match token_operation(&shared, EVENT, &parts, body, now).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reason = match claims {
        None => match refresh::revoke_refresh(&shared, &client, &form, now).await {
            Ok(reason) => reason,
            Err(response) => return response,
        },
        Some(c) if c.get("client_id").and_then(Value::as_str) != Some(&client.client_id) => {
            "other_client"
        }
        Some(c) => {
            let exp = c.get("exp").and_then(Value::as_i64).unwrap_or_default();
            let until = from_unix_seconds(exp);
            if let Err(e) = shared.denylist.insert(jti_of(&c), until, now).await {
                // Never a silent success: the client retries later.
                tracing::warn!(error = %e, "revocation denylist");
                let e = OAuthError::new(ErrorCode::Unavailable, "temporarily unavailable");
                return refuse(EVENT, e, Some(&client.client_id));
            }
            "revoked"
        }
    };
    let decision = if reason == "revoked" {
        "allow"
    } else {
        "ignore"
    };
    tracing::info!(
        target: AUDIT,
        event = EVENT,
        client_id = client.client_id.as_str(),
        decision,
        reason,
    );
    no_store(StatusCode::OK.into_response())
}
