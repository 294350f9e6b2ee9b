//! `GET /oauth2/device` and `POST /oauth2/device` (RFC 8628 §3.3): a signed-in user enters
//! the user code shown on the device, sees which client asks for which scopes, and approves
//! or denies. Every form carries the session's CSRF token; wrong codes are limited per
//! session. Without a signed-in session the login page comes first, then back here.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::BrowserHost;
use super::authorize::Params;
use super::flow::{AUDIT, Visit, sign_in_then, still_signed_in, visit};
use super::pages::{Page, error_line, escape, hidden};
use super::post::{form_post, not_enabled, page, store_failed, stored, throttled};
use crate::oauth::device::{Approval, PendingRequest, display_user_code, normalise_user_code};

/// Path of the device pages.
const DEVICE: &str = "/oauth2/device";

/// Wrong user codes a session may enter.
const MAX_ATTEMPTS: u32 = 5;

fn sign_in_first() -> Response {
    page(
        StatusCode::UNAUTHORIZED,
        "Your sign-in ended. Open the device page again.",
    )
}

/// The code entry form (prefilled with `user_code`).
fn entry(
    action: &str,
    csrf: &str,
    user_code: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Page {
    let body = format!(
        "<p>Enter the code shown on your device.</p>\n{err}\
         <form method=\"post\" action=\"{action}\">\n{csrf}\n\
         <p><label>Code <input name=\"user_code\" value=\"{code}\" autocomplete=\"off\" required></label></p>\n\
         <p><button type=\"submit\">Continue</button></p>\n</form>",
        err = error_line(error),
        csrf = hidden("csrf_token", csrf),
        code = escape(user_code),
    );
    Page {
        status,
        title: "Connect a device",
        body,
        form_target: None,
    }
}

/// The page of an anonymous `GET /oauth2/device`: a sign-in button (no session yet).
fn start(action: &str, user_code: &str) -> Page {
    let body = format!(
        "<p>Sign in to connect a device.</p>\n\
         <form method=\"get\" action=\"{action}\">\n{code}{sign_in}\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>",
        code = hidden("user_code", user_code),
        sign_in = hidden("sign_in", "1"),
    );
    Page {
        status: StatusCode::OK,
        title: "Connect a device",
        body,
        form_target: None,
    }
}

/// The confirm page: which client asks for which scopes.
fn confirm(action: &str, csrf: &str, user_code: &str, request: &PendingRequest) -> Page {
    let items: String = request
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let body = format!(
        "<p>A device using <strong>{client}</strong> asks for access to:</p>\n<ul>{items}</ul>\n\
         <form method=\"post\" action=\"{action}\">\n{csrf}{code}\n\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p>\n</form>",
        client = escape(&request.client_id),
        csrf = hidden("csrf_token", csrf),
        code = hidden("user_code", user_code),
    );
    Page {
        status: StatusCode::OK,
        title: "Authorize a device",
        body,
        form_target: None,
    }
}

fn done(approved: bool) -> Response {
    let message = if approved {
        "Device connected. You can return to your device."
    } else {
        "Access denied. You can close this page."
    };
    Page {
        status: StatusCode::OK,
        title: "Done",
        body: format!("<p>{}</p>", escape(message)),
        form_target: None,
    }
    .into_response()
}

/// `GET /oauth2/device[?user_code=…]`.
pub async fn device_get<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let source = crate::oauth::http::source_address(request.extensions());
    let params = Params::parse(request.uri().query().unwrap_or_default().as_bytes());
    let user_code = params.one("user_code").ok().flatten().unwrap_or_default();
    let existing = match visit(host.as_ref(), flows, request.headers(), now).await {
        Ok(Visit::SignedIn { csrf, .. }) => {
            return entry(&host.route(DEVICE), &csrf, user_code, StatusCode::OK, None)
                .into_response();
        }
        Ok(Visit::Anonymous(existing)) => existing,
        Err(r) => return r,
    };
    // Not signed in and no session: a plain GET (a prefetch, a scanner, a flood) creates
    // none; the sign-in button asks for the login page, which needs one (issue 11 §11).
    if existing.is_none() && params.one("sign_in") != Ok(Some("1")) {
        return start(&host.route(DEVICE), user_code).into_response();
    }
    // Not signed in: the login page, then back here (with the code, when well formed).
    let mut back = format!("{}{DEVICE}", host.issuer());
    if let Some(code) = normalise_user_code(user_code) {
        back = format!("{back}?user_code={}", display_user_code(&code));
    }
    sign_in_then(
        host.as_ref(),
        flows,
        existing,
        source,
        "device sign-in",
        back,
    )
    .await
}

/// `POST /oauth2/device`: a code (→ confirm page) or a decision on it.
pub async fn device_post<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let (flows, now, posted) = match form_post(host.as_ref(), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        Some((s.user.clone()?, s.csrf.clone(), s.device_attempts))
    });
    let Some((user, csrf, attempts)) = (match stored(found.await) {
        Ok(found) => found.flatten(),
        Err(r) => return r,
    }) else {
        return sign_in_first();
    };
    match still_signed_in(flows, &posted.session_id, &user).await {
        Ok(true) => {}
        Ok(false) => return sign_in_first(),
        Err(r) => return r,
    }
    if attempts >= MAX_ATTEMPTS {
        tracing::info!(target: AUDIT, event = "oauth_device_refused", user_id = %user.user_id, reason = "too_many_attempts");
        let p = page(StatusCode::TOO_MANY_REQUESTS, "Too many wrong codes.");
        return throttled(p, 600);
    }
    let user_code = posted
        .params
        .one("user_code")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned();
    let codes = host.device_codes();
    let looked_up = match codes.lookup(&user_code, now).await {
        Ok(found) => found,
        Err(e) => return store_failed(&e),
    };
    let Some(pending) = looked_up else {
        let counted = flows.sessions.with(&posted.session_id, now, |s| {
            s.device_attempts = s.device_attempts.saturating_add(1);
        });
        if let Err(r) = stored(counted.await) {
            return r;
        }
        tracing::info!(target: AUDIT, event = "oauth_device_refused", user_id = %user.user_id, reason = "unknown_user_code");
        let error = Some("That code is wrong or expired. Check the code on your device.");
        return entry(
            &host.route(DEVICE),
            &csrf,
            "",
            StatusCode::BAD_REQUEST,
            error,
        )
        .into_response();
    };
    let decision = posted.params.one("decision").ok().flatten();
    let approved = match decision {
        None => return confirm(&host.route(DEVICE), &csrf, &user_code, &pending).into_response(),
        Some(d) => d == "approve",
    };
    let decided = if approved {
        let approval = Approval {
            user_id: user.user_id.clone(),
            auth_time: user.auth_time,
            amr: user.amr.clone(),
        };
        codes.approve(&user_code, approval, now).await
    } else {
        codes.deny(&user_code, now).await
    };
    let decided = match decided {
        Ok(decided) => decided,
        Err(e) => return store_failed(&e),
    };
    if !decided {
        return entry(
            &host.route(DEVICE),
            &csrf,
            "",
            StatusCode::BAD_REQUEST,
            Some("That code expired."),
        )
        .into_response();
    }
    tracing::info!(
        target: AUDIT,
        event = if approved { "oauth_device_approved" } else { "oauth_device_denied" },
        client_id = %pending.client_id,
        user_id = %user.user_id,
        scope = %pending.scopes.join(" "),
    );
    done(approved)
}
