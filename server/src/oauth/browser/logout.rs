//! `GET/POST /oauth2/logout`, also the OpenID `end_session_endpoint` (RP-Initiated Logout
//! 1.0). A request (GET, or a POST of the RP's parameters) shows a confirmation form; only
//! its post, with the session's CSRF token, ends the session, then sends the browser to the
//! client's registered `post_logout_redirect_uri` (with `state`) or shows "signed out".

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::authorize::Params;
use super::end_session::{self, EndSession};
use super::flow::{AUDIT, LOGOUT, see_other};
use super::post::{forbidden, not_enabled, read_body, stored};
use super::{BrowserFlows, BrowserHost, csrf, pages};

/// `GET /oauth2/logout`: the confirmation form (signing out needs a POST with the token).
pub async fn logout_get<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let params = Params::parse(request.uri().query().unwrap_or_default().as_bytes());
    ask(host.as_ref(), flows, request.headers(), &params).await
}

/// The confirmation form for the logout request in `params`: with the session's CSRF token,
/// or, without a session, an empty one (there is nothing to end; only the redirect is left).
async fn ask<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    headers: &HeaderMap,
    params: &Params,
) -> Response {
    let end = match end_session::validate(host, flows, params).await {
        Ok(end) => end,
        Err(refused) => return refused.into_response(),
    };
    let cookie = host.session_cookie();
    let read = flows
        .sessions
        .with_cookie(cookie.read(headers), host.now(), |s| s.csrf.clone())
        .await;
    let csrf = match stored(read) {
        Ok(found) => found.map(|(_, csrf)| csrf),
        Err(r) => return r,
    };
    match (csrf, &end.redirect_uri) {
        (None, None) => pages::signed_out().into_response(),
        (csrf, _) => pages::logout(
            &host.route(LOGOUT),
            csrf.as_deref().unwrap_or_default(),
            end.form(),
        )
        .into_response(),
    }
}

/// `POST /oauth2/logout`: an RP's logout request (its parameters, no `confirm`) shows the
/// form as GET does; the form's post ends the session.
pub async fn logout_post<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request<Body>,
) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(body, host.body_read_timeout()).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let params = Params::parse(&body);
    let confirmed = params.one("confirm").ok().flatten().is_some();
    if !confirmed && end_session::is_request(&params) {
        return ask(host.as_ref(), flows, &parts.headers, &params).await;
    }
    let end = match end_session::validate(host.as_ref(), flows, &params).await {
        Ok(end) => end,
        Err(refused) => return refused.into_response(),
    };
    confirm(host.as_ref(), flows, &parts.headers, &params, &end).await
}

/// Ends the session the cookie names (its CSRF token must match), then answers with the
/// redirect or the "signed out" page. Without a live session nothing is ended.
async fn confirm<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    headers: &HeaderMap,
    params: &Params,
    end: &EndSession,
) -> Response {
    let now = host.now();
    let cookie = host.session_cookie();
    let presented = params.one("csrf_token").ok().flatten();
    let read = flows
        .sessions
        .with_cookie(cookie.read(headers), now, |s| {
            (csrf::verify(&s.csrf, presented), s.user.clone())
        })
        .await;
    let live = match stored(read) {
        Ok(live) => live,
        Err(r) => return r,
    };
    match live {
        Some((id, (true, user))) => {
            if let Err(r) = stored(flows.sessions.remove(&id).await) {
                return r;
            }
            if let Some(u) = user {
                tracing::info!(
                    target: AUDIT,
                    event = "browser_signed_out",
                    user_id = %u.user_id,
                    client_id = end.client.as_ref().map_or("", |(id, _)| id.as_str()),
                );
            }
        }
        Some((_, (false, _))) => {
            tracing::info!(target: AUDIT, event = "browser_csrf_refused", form = "logout");
            return forbidden();
        }
        // No live session: nothing to end; the redirect (or the page) is all that is left.
        None => {}
    }
    let mut response = match end.location() {
        Some(location) => see_other(&location),
        None => pages::signed_out().into_response(),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie.clear());
    response
}
