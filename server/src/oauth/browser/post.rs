//! What every form post shares: the error pages, the session + CSRF check, and the
//! opening of the handlers ([`form_post`]).

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authorize::Params;
use super::flow::AUDIT;
use super::pages;
use super::session::SessionError;
use super::{BrowserFlows, BrowserHost, csrf};

/// Largest form body accepted.
const MAX_FORM: usize = 16 * 1024;

pub(super) fn page(status: StatusCode, message: &str) -> Response {
    pages::error(status, message).into_response()
}

pub(super) fn not_enabled() -> Response {
    page(StatusCode::NOT_FOUND, "Browser sign-in is not enabled.")
}

pub(super) fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "The form was not accepted (missing or wrong security token). Go back to the application and start again.",
    )
}

pub(super) fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is temporarily unavailable. Try again later.",
    )
}

/// The datastore holding sessions and device codes failed: logged, the 503 page.
pub(super) fn store_failed(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "browser state store");
    unavailable()
}

/// A session step's result, or (the datastore failed) the 503 page.
#[allow(clippy::result_large_err)] // a `Response` is what every handler returns
pub(super) fn stored<T>(result: Result<T, SessionError>) -> Result<T, Response> {
    result.map_err(|e| store_failed(&e))
}

/// A new anonymous session for a browser at `source`; the 503 page when none can be
/// created.
pub(super) async fn new_session(
    flows: &BrowserFlows,
    now: std::time::SystemTime,
    source: std::net::IpAddr,
) -> Result<String, Response> {
    flows.sessions.create(now, source).await.map_err(|e| {
        tracing::error!(error = %e, "creating a browser session");
        unavailable()
    })
}

/// Reads a form body of at most [`MAX_FORM`] bytes within `deadline` (one deadline for the
/// whole body: a trickling client cannot hold the request open).
pub(super) async fn read_body(
    body: axum::body::Body,
    deadline: std::time::Duration,
) -> Result<axum::body::Bytes, Response> {
    match tokio::time::timeout(deadline, to_bytes(body, MAX_FORM)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        )),
        Err(_) => Err(page(
            StatusCode::REQUEST_TIMEOUT,
            "The form did not arrive in time.",
        )),
    }
}

/// A form post in a session: the session id, its CSRF token checked, the form.
pub(super) struct Posted {
    pub(super) session_id: String,
    pub(super) params: Params,
    pub(super) source: std::net::IpAddr,
}

impl Posted {
    /// The form's `request_id` (empty when absent or repeated).
    pub(super) fn request_id(&self) -> String {
        self.params
            .one("request_id")
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The opening of a form post handler: the flows (404 when disabled), the time of the
/// request, and the form checked against its session.
pub(super) async fn form_post<H: BrowserHost>(
    host: &H,
    request: Request,
) -> Result<(&BrowserFlows, std::time::SystemTime, Posted), Response> {
    let Some(flows) = host.browser() else {
        return Err(not_enabled());
    };
    let now = host.now();
    let posted = posted(flows, host, request, now).await?;
    Ok((flows, now, posted))
}

pub(super) async fn posted<H: BrowserHost>(
    flows: &BrowserFlows,
    host: &H,
    request: Request,
    now: std::time::SystemTime,
) -> Result<Posted, Response> {
    let source = crate::oauth::http::source_address(request.extensions());
    let cookie = host.session_cookie();
    let session_id = cookie.read(request.headers());
    let body = read_body(request.into_body(), host.body_read_timeout()).await?;
    let params = Params::parse(&body);
    let presented = params.one("csrf_token").ok().flatten();
    let session_id = session_id.ok_or_else(forbidden)?;
    let checked = flows
        .sessions
        .with(&session_id, now, |s| csrf::verify(&s.csrf, presented))
        .await;
    let ok = stored(checked)?.unwrap_or(false);
    if !ok {
        tracing::info!(target: AUDIT, event = "browser_csrf_refused", %source);
        return Err(forbidden());
    }
    Ok(Posted {
        session_id,
        params,
        source,
    })
}

pub(super) fn throttled(mut response: Response, seconds: u64) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
