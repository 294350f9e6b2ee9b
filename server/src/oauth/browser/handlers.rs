//! The axum handlers: authorize, login (password, TOTP), consent and logout.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use super::authorize::{self, AuthorizeError, Params};
use super::flow::{self, AUDIT, LOGIN, LOGOUT, TOTP, expired, form, proceed, with_session};
use super::pages;
use super::session::{SessionCookie, SignedIn};
use super::{BrowserFlows, BrowserHost, csrf};
use crate::users::LoginError;

/// Largest form body accepted.
const MAX_FORM: usize = 16 * 1024;

fn page(status: StatusCode, message: &str) -> Response {
    pages::error(status, message).into_response()
}

fn not_enabled() -> Response {
    page(StatusCode::NOT_FOUND, "Browser sign-in is not enabled.")
}

fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "The form was not accepted (missing or wrong security token). Go back to the application and start again.",
    )
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is temporarily unavailable. Try again later.",
    )
}

/// `GET /oauth2/authorize`.
pub async fn authorize<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let issuer = host.issuer();
    let params = Params::parse(request.uri().query().unwrap_or_default().as_bytes());
    let client = match authorize::client_id(&params) {
        Ok(id) => flows.clients.client(id).await,
        Err(AuthorizeError::Page(m)) => return page(StatusCode::BAD_REQUEST, &m),
        Err(AuthorizeError::Redirect(r)) => return flow::error_redirect(issuer, &r),
    };
    let client = match client {
        Ok(c) => c,
        Err(detail) => {
            tracing::error!(%detail, "client store unavailable");
            return unavailable();
        }
    };
    let req = match authorize::validate(&params, client.as_ref()) {
        Ok(r) => r,
        Err(AuthorizeError::Page(m)) => {
            tracing::info!(target: AUDIT, event = "oauth_authorize_refused", reason = %m);
            return page(StatusCode::BAD_REQUEST, &m);
        }
        Err(AuthorizeError::Redirect(r)) => return flow::error_redirect(issuer, &r),
    };
    let cookie = SessionCookie::for_issuer(issuer);
    let existing = cookie.read(request.headers()).and_then(|id| {
        let user = flows.sessions.with(&id, now, |s| s.user.clone())?;
        Some((id, user))
    });
    let user = existing
        .as_ref()
        .and_then(|(_, u)| u.clone())
        .filter(|_| !req.prompt.login);
    if req.prompt.none {
        return match user {
            None => flow::refuse(issuer, &req, "login_required", "no signed-in session"),
            Some(u) if flow::needs_consent(flows, &req, &u) => {
                flow::refuse(issuer, &req, "consent_required", "consent is required")
            }
            Some(u) => flow::issue(host.as_ref(), &req, &u, now),
        };
    }
    let (session_id, fresh) = match existing {
        Some((id, _)) => (id, false),
        None => match flows.sessions.create(now) {
            Ok(id) => (id, true),
            Err(e) => {
                tracing::error!(error = %e, "creating a browser session");
                return unavailable();
            }
        },
    };
    let now_s = unix_seconds(now);
    let added = flows.sessions.with(&session_id, now, |s| {
        let id = s.add_pending(req.clone(), now_s)?;
        Some((id, s.csrf.clone()))
    });
    let Some((request_id, csrf)) = added.flatten() else {
        return unavailable();
    };
    let response = match user {
        Some(u) => proceed(host.as_ref(), flows, &session_id, &request_id, &u, now),
        None => pages::login(form(LOGIN, &csrf, &request_id, &req), StatusCode::OK, None)
            .into_response(),
    };
    if fresh {
        with_session(response, &cookie, &session_id)
    } else {
        response
    }
}

/// A form post in a session: the session id, its CSRF token checked, the form.
struct Posted {
    session_id: String,
    params: Params,
    source: std::net::IpAddr,
}

async fn posted(
    flows: &BrowserFlows,
    issuer: &str,
    request: Request,
    now: std::time::SystemTime,
) -> Result<Posted, Response> {
    let source = flow::source(request.extensions());
    let cookie = SessionCookie::for_issuer(issuer);
    let session_id = cookie.read(request.headers());
    let body = to_bytes(request.into_body(), MAX_FORM)
        .await
        .map_err(|_| page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
    let params = Params::parse(&body);
    let presented = params.one("csrf_token").ok().flatten();
    let session_id = session_id.ok_or_else(forbidden)?;
    let ok = flows
        .sessions
        .with(&session_id, now, |s| csrf::verify(&s.csrf, presented))
        .unwrap_or(false);
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

fn throttled(mut response: Response, seconds: u64) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Signs the session in (new id) and continues the flow.
fn complete<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    posted: &Posted,
    request_id: &str,
    user_id: String,
    amr: &[&str],
    now: std::time::SystemTime,
) -> Response {
    let user = SignedIn {
        user_id,
        auth_time: unix_seconds(now),
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
    };
    let new_id = match flows
        .sessions
        .sign_in(&posted.session_id, user.clone(), now)
    {
        Ok(id) => id,
        Err(_) => return unavailable(),
    };
    tracing::info!(target: AUDIT, event = "browser_signed_in", user_id = %user.user_id, amr = %user.amr.join(" "), source = %posted.source);
    let response = proceed(host, flows, &new_id, request_id, &user, now);
    with_session(response, &SessionCookie::for_issuer(host.issuer()), &new_id)
}

/// `POST /oauth2/login`: username + password.
pub async fn login_post<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let mut posted = match posted(flows, host.issuer(), request, now).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted
        .params
        .one("request_id")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        Some((s.pending(&request_id, now_s)?.clone(), s.csrf.clone()))
    });
    let Some((req, csrf)) = found.flatten() else {
        return expired();
    };
    let username = posted
        .params
        .one("username")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let password = Zeroizing::new(posted.params.take("password").unwrap_or_default());
    let ctx = || form(LOGIN, &csrf, &request_id, &req);
    match flows
        .users
        .authenticate(&username, password, posted.source)
        .await
    {
        Ok(a) if a.totp_required => {
            flows.sessions.with(&posted.session_id, now, |s| {
                s.awaiting_totp = Some(a.user_id);
            });
            pages::totp(form(TOTP, &csrf, &request_id, &req), StatusCode::OK, None).into_response()
        }
        Ok(a) => complete(
            host.as_ref(),
            flows,
            &posted,
            &request_id,
            a.user_id,
            &["pwd"],
            now,
        ),
        Err(LoginError::InvalidCredentials) => {
            pages::login(ctx(), StatusCode::OK, Some("Invalid username or password."))
                .into_response()
        }
        Err(LoginError::Throttled(r)) => throttled(
            pages::login(
                ctx(),
                StatusCode::OK,
                Some("Too many attempts. Try again later."),
            )
            .into_response(),
            r.seconds,
        ),
        Err(LoginError::Internal(_)) => unavailable(),
    }
}

/// `POST /oauth2/login/totp`: the second factor.
pub async fn totp_post<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let posted = match posted(flows, host.issuer(), request, now).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted
        .params
        .one("request_id")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        let req = s.pending(&request_id, now_s)?.clone();
        Some((req, s.csrf.clone(), s.awaiting_totp.clone()?))
    });
    let Some((req, csrf, user_id)) = found.flatten() else {
        return expired();
    };
    let code = posted
        .params
        .one("code")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let ctx = || form(TOTP, &csrf, &request_id, &req);
    match flows
        .users
        .verify_second_factor(&user_id, &code, posted.source)
        .await
    {
        Ok(()) => complete(
            host.as_ref(),
            flows,
            &posted,
            &request_id,
            user_id,
            &["pwd", "otp"],
            now,
        ),
        Err(LoginError::InvalidCredentials) => {
            pages::totp(ctx(), StatusCode::OK, Some("Invalid code.")).into_response()
        }
        Err(LoginError::Throttled(r)) => throttled(
            pages::totp(
                ctx(),
                StatusCode::OK,
                Some("Too many attempts. Try again later."),
            )
            .into_response(),
            r.seconds,
        ),
        Err(LoginError::Internal(_)) => unavailable(),
    }
}

/// `POST /oauth2/consent`: approve or deny.
pub async fn consent_post<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request,
) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let posted = match posted(flows, host.issuer(), request, now).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted
        .params
        .one("request_id")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        let user = s.user.clone()?;
        Some((s.take_pending(&request_id, now_s)?, user))
    });
    let Some((req, user)) = found.flatten() else {
        return expired();
    };
    let approved = posted.params.one("decision") == Ok(Some("approve"));
    tracing::info!(
        target: AUDIT,
        event = if approved { "oauth_consent_approved" } else { "oauth_consent_denied" },
        client_id = %req.client_id,
        user_id = %user.user_id,
        scope = %req.scopes.join(" "),
    );
    if !approved {
        return flow::refuse(
            host.issuer(),
            &req,
            "access_denied",
            "the user denied the request",
        );
    }
    flows
        .consents
        .remember(&user.user_id, &req.client_id, &req.scopes);
    flow::issue(host.as_ref(), &req, &user, now)
}

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
