//! `POST /oauth2/login` (password) and `/oauth2/login/totp` (second factor).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use super::flow::{AUDIT, LOGIN, TOTP, expired, form, proceed, signed_out, with_session};
use super::pages;
use super::post::{Posted, form_post, store_failed, stored, throttled, unavailable};
use super::session::{SessionError, SignedIn};
use super::{BrowserFlows, BrowserHost};
use crate::metrics::{LoginFactor, LoginResult};
use crate::users::LoginError;

/// The metrics label of a sign-in step's outcome.
fn login_result<T>(result: &Result<T, LoginError>) -> LoginResult {
    match result {
        Ok(_) => LoginResult::Success,
        Err(LoginError::InvalidCredentials) => LoginResult::Failure,
        Err(LoginError::Throttled(_)) => LoginResult::Throttled,
        Err(LoginError::Internal(_)) => LoginResult::Error,
    }
}

/// Signs the session in (new id) and continues the flow.
async fn complete<H: BrowserHost>(
    host: &H,
    flows: &BrowserFlows,
    posted: &Posted,
    request_id: &str,
    user_id: String,
    amr: &[&str],
    now: std::time::SystemTime,
) -> Response {
    let stamp = match flows.users.account_stamp(&user_id).await {
        Ok(Some(stamp)) => stamp,
        // Disabled or deleted between the password check and here.
        Ok(None) => return signed_out(),
        Err(_) => return unavailable(),
    };
    let user = SignedIn {
        user_id,
        auth_time: unix_seconds(now),
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
        stamp,
    };
    let new_id = match flows
        .sessions
        .sign_in(&posted.session_id, user.clone(), now)
        .await
    {
        Ok(id) => id,
        Err(SessionError::Ended) => return expired(),
        Err(e) => return store_failed(&e),
    };
    tracing::info!(target: AUDIT, event = "browser_signed_in", user_id = %user.user_id, amr = %user.amr.join(" "), source = %posted.source);
    let response = proceed(host, flows, &new_id, request_id, &user, now).await;
    with_session(response, &host.session_cookie(), &new_id)
}

/// `POST /oauth2/login`: username + password.
pub async fn login_post<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let (flows, now, mut posted) = match form_post(host.as_ref(), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted.request_id();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        Some((s.pending(&request_id, now_s)?.clone(), s.csrf.clone()))
    });
    let Some((req, csrf)) = (match stored(found.await) {
        Ok(found) => found.flatten(),
        Err(r) => return r,
    }) else {
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
    let action = host.route(LOGIN);
    let ctx = || form(&action, &csrf, &request_id, &req);
    let authenticated = flows
        .users
        .authenticate(&username, password, posted.source)
        .await;
    flows
        .metrics
        .record(LoginFactor::Password, login_result(&authenticated));
    match authenticated {
        Ok(a) if a.totp_required => {
            let noted = flows.sessions.with(&posted.session_id, now, |s| {
                s.awaiting_totp = Some(a.user_id.clone());
            });
            if let Err(r) = stored(noted.await) {
                return r;
            }
            pages::totp(
                form(&host.route(TOTP), &csrf, &request_id, &req),
                StatusCode::OK,
                None,
            )
            .into_response()
        }
        Ok(a) => {
            complete(
                host.as_ref(),
                flows,
                &posted,
                &request_id,
                a.user_id,
                &["pwd"],
                now,
            )
            .await
        }
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
    let (flows, now, posted) = match form_post(host.as_ref(), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted.request_id();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        let req = s.pending(&request_id, now_s)?.clone();
        Some((req, s.csrf.clone(), s.awaiting_totp.clone()?))
    });
    let Some((req, csrf, user_id)) = (match stored(found.await) {
        Ok(found) => found.flatten(),
        Err(r) => return r,
    }) else {
        return expired();
    };
    let code = posted
        .params
        .one("code")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let action = host.route(TOTP);
    let ctx = || form(&action, &csrf, &request_id, &req);
    let verified = flows
        .users
        .verify_second_factor(&user_id, &code, posted.source)
        .await;
    flows
        .metrics
        .record(LoginFactor::Totp, login_result(&verified));
    match verified {
        Ok(()) => {
            complete(
                host.as_ref(),
                flows,
                &posted,
                &request_id,
                user_id,
                &["pwd", "otp"],
                now,
            )
            .await
        }
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
