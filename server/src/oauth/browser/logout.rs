//! `GET/POST /oauth2/logout`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::BrowserHost;
use super::flow::{AUDIT, LOGOUT};
use super::pages;
use super::post::{not_enabled, posted};
use super::session::SessionCookie;

/// `GET /oauth2/logout`: a confirmation form (signing out needs a POST with the token).
pub async fn logout_get<H: BrowserHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let cookie = SessionCookie::for_issuer(host.issuer());
    let csrf = cookie
        .read(&headers)
        .and_then(|id| flows.sessions.with(&id, now, |s| s.csrf.clone()));
    match csrf {
        Some(csrf) => pages::logout(LOGOUT, &csrf).into_response(),
        None => pages::signed_out().into_response(),
    }
}

/// `POST /oauth2/logout`: ends the session.
pub async fn logout_post<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request<Body>,
) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let cookie = SessionCookie::for_issuer(host.issuer());
    let posted = match posted(flows, host.issuer(), request, now).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let user = flows
        .sessions
        .with(&posted.session_id, now, |s| s.user.clone())
        .flatten();
    flows.sessions.remove(&posted.session_id);
    if let Some(u) = user {
        tracing::info!(target: AUDIT, event = "browser_signed_out", user_id = %u.user_id);
    }
    let mut response = pages::signed_out().into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie.clear());
    response
}
