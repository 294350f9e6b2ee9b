//! The steps shared by the handlers: answering the client (code or error, always with
//! `iss` and `state`), deciding between consent and code, and small request helpers.

use std::time::SystemTime;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_proto::clock::unix_seconds;

use super::authorize::{AuthorizationRequest, ErrorRedirect, Prompt};
use super::pages::{self, FormContext};
use super::post::{new_session, stored, unavailable};
use super::session::{SessionCookie, SignedIn};
use super::{BrowserFlows, BrowserHost, redirect};
use crate::oauth::codes::CodeGrant;

/// Audit target.
pub(super) const AUDIT: &str = "tessera::audit";

/// Paths of the forms.
pub(super) const LOGIN: &str = "/oauth2/login";
pub(super) const TOTP: &str = "/oauth2/login/totp";
pub(super) const CONSENT: &str = "/oauth2/consent";
pub(super) const LOGOUT: &str = "/oauth2/logout";

/// `303 See Other` to `location`.
pub(super) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, v),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response(),
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "Invalid redirect URI.").into_response(),
    }
}

/// An error response to the client's redirect URI.
pub(super) fn error_redirect(issuer: &str, e: &ErrorRedirect) -> Response {
    tracing::info!(target: AUDIT, event = "oauth_authorize_refused", error = e.error, reason = %e.description);
    let mut params = vec![
        ("error", e.error),
        ("error_description", e.description.as_str()),
    ];
    if let Some(state) = &e.state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    see_other(&redirect::with_params(&e.redirect_uri, &params))
}

/// The error for `request` with `error`.
pub(super) fn refuse(
    issuer: &str,
    request: &AuthorizationRequest,
    error: &'static str,
    description: &str,
) -> Response {
    error_redirect(
        issuer,
        &ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: request.state.clone(),
        },
    )
}

/// Whether `user` must be asked before `request` gets a code.
pub(super) async fn needs_consent(
    flows: &BrowserFlows,
    request: &AuthorizationRequest,
    user: &SignedIn,
) -> bool {
    if request.first_party {
        return false;
    }
    request.prompt.consent
        || !flows
            .consents
            .covers(&user.user_id, &request.client_id, &request.scopes)
            .await
}

/// Issues the code for `request` and sends the browser back to the client.
pub(super) async fn issue<H: BrowserHost>(
    host: &H,
    request: &AuthorizationRequest,
    user: &SignedIn,
    now: SystemTime,
) -> Response {
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_id: user.user_id.clone(),
        scopes: request.scopes.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        auth_time: user.auth_time,
        amr: user.amr.clone(),
    };
    let code = match host.issue_code(grant, now).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "issuing an authorization code");
            return refuse(
                host.issuer(),
                request,
                "temporarily_unavailable",
                "try again later",
            );
        }
    };
    tracing::info!(
        target: AUDIT,
        event = "oauth_code_issued",
        client_id = %request.client_id,
        user_id = %user.user_id,
        scope = %request.scopes.join(" "),
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", host.issuer()));
    see_other(&redirect::with_params(&request.redirect_uri, &params))
}

/// The form context for `request` in session with `csrf`.
pub(super) fn form<'a>(
    action: &'a str,
    csrf: &'a str,
    request_id: &'a str,
    request: &'a AuthorizationRequest,
) -> FormContext<'a> {
    FormContext {
        action,
        csrf,
        request_id,
        client_name: if request.client_name.is_empty() {
            &request.client_id
        } else {
            &request.client_name
        },
        form_target: redirect::csp_source(&request.redirect_uri),
    }
}

/// For a signed-in `user` with pending request `request_id` in session `session_id`:
/// the consent page, or the code (the pending request is then spent).
pub(super) async fn proceed<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    session_id: &str,
    request_id: &str,
    user: &SignedIn,
    now: SystemTime,
) -> Response {
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(session_id, now, |s| {
        Some((s.pending(request_id, now_s)?.clone(), s.csrf.clone()))
    });
    let Some((request, csrf)) = (match stored(found.await) {
        Ok(found) => found.flatten(),
        Err(r) => return r,
    }) else {
        return expired();
    };
    if request.resume.is_none() && needs_consent(flows, &request, user).await {
        return pages::consent(
            form(&host.route(CONSENT), &csrf, request_id, &request),
            &request.scopes,
        )
        .into_response();
    }
    // Taken, not just read: a request answered concurrently is spent.
    let taken = flows
        .sessions
        .with(session_id, now, |s| s.take_pending(request_id, now_s))
        .await;
    let taken = match stored(taken) {
        Ok(taken) => taken.flatten(),
        Err(r) => return r,
    };
    match taken {
        None => expired(),
        Some(AuthorizationRequest {
            resume: Some(url), ..
        }) => see_other(&url),
        Some(request) => issue(host, &request, user, now).await,
    }
}

/// Re-checks the account behind a signed-in session (every authorize, consent and device
/// step): the account must exist, be enabled and have the password it signed in with.
/// Otherwise the session ends at once (`Ok(false)`); a store failure fails closed (503).
pub(super) async fn still_signed_in(
    flows: &BrowserFlows,
    session_id: &str,
    user: &SignedIn,
) -> Result<bool, Response> {
    match flows.users.account_stamp(&user.user_id).await {
        Ok(Some(stamp)) if stamp == user.stamp => Ok(true),
        Ok(current) => {
            stored(flows.sessions.remove(session_id).await)?;
            let reason = if current.is_some() {
                "password_changed"
            } else {
                "account_disabled_or_deleted"
            };
            tracing::info!(target: AUDIT, event = "browser_session_ended", user_id = %user.user_id, reason);
            Ok(false)
        }
        Err(e) => {
            tracing::error!(error = %e, "checking a session's account");
            Err(super::post::unavailable())
        }
    }
}

/// The page for a session whose sign-in ended (account disabled, deleted or its password
/// changed) in the middle of a flow.
pub(super) fn signed_out() -> Response {
    pages::error(
        StatusCode::UNAUTHORIZED,
        "Your sign-in ended. Go back to the application and start again.",
    )
    .into_response()
}

/// The page for a missing or expired pending request.
pub(super) fn expired() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-in request expired or is unknown. Go back to the application and start again.",
    )
    .into_response()
}

/// `response` with `Set-Cookie` for session `id`.
pub(super) fn with_session(mut response: Response, cookie: &SessionCookie, id: &str) -> Response {
    if let Some(v) = cookie.set(id) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// For a browser that is not signed in (on its session `existing`, or a new one): the login
/// page, with a pending request that sends it to `back` once signed in (a first-party page
/// of this server, named `name` on the login page).
pub(super) async fn sign_in_then<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    existing: Option<String>,
    source: std::net::IpAddr,
    name: &str,
    back: String,
) -> Response {
    let now = host.now();
    let (session_id, fresh) = match existing {
        Some(id) => (id, false),
        None => match new_session(flows, now, source).await {
            Ok(id) => (id, true),
            Err(r) => return r,
        },
    };
    let req = AuthorizationRequest {
        client_id: String::new(),
        client_name: name.to_owned(),
        first_party: true,
        redirect_uri: String::new(),
        scopes: Vec::new(),
        state: None,
        nonce: None,
        code_challenge: String::new(),
        prompt: Prompt::default(),
        resume: Some(back),
    };
    let now_s = unix_seconds(now);
    let added = flows.sessions.with(&session_id, now, |s| {
        let id = s.add_pending(req.clone(), now_s)?;
        Some((id, s.csrf.clone()))
    });
    let Ok(Some(Some((request_id, csrf)))) = added.await else {
        return unavailable();
    };
    let response = pages::login(
        form(&host.route(LOGIN), &csrf, &request_id, &req),
        StatusCode::OK,
        None,
    )
    .into_response();
    if fresh {
        with_session(response, &host.session_cookie(), &session_id)
    } else {
        response
    }
}

/// Who is at a first-party page ([`visit`]).
pub(super) enum Visit {
    /// A signed-in user whose account still checks out, with the session's CSRF token.
    SignedIn {
        /// The user.
        user: SignedIn,
        /// The session's CSRF token.
        csrf: String,
    },
    /// Not signed in: the id of the browser's session, if it has one.
    Anonymous(Option<String>),
}

/// Reads the session the request's cookie names and re-checks its account
/// ([`still_signed_in`]): who is visiting. A store failure is the 503 page.
pub(super) async fn visit<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    headers: &axum::http::HeaderMap,
    now: SystemTime,
) -> Result<Visit, Response> {
    let read = flows
        .sessions
        .with_cookie(host.session_cookie().read(headers), now, |s| {
            (s.user.clone(), s.csrf.clone())
        })
        .await;
    match stored(read)? {
        None => Ok(Visit::Anonymous(None)),
        Some((id, (None, _))) => Ok(Visit::Anonymous(Some(id))),
        Some((id, (Some(user), csrf))) => {
            if still_signed_in(flows, &id, &user).await? {
                Ok(Visit::SignedIn { user, csrf })
            } else {
                Ok(Visit::Anonymous(None))
            }
        }
    }
}
