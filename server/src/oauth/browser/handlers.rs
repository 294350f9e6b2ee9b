//! `GET /oauth2/authorize` and `POST /oauth2/consent`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_proto::clock::unix_seconds;

use super::BrowserHost;
use super::authorize::Params;
use super::authorize::{self, AuthorizeError};
use super::flow::{self, AUDIT, LOGIN, expired, form, proceed, with_session};
use super::pages;
use super::post::{form_post, new_session, not_enabled, page, stored, unavailable};

/// `GET /oauth2/authorize`.
pub async fn authorize<H: BrowserHost>(State(host): State<Arc<H>>, request: Request) -> Response {
    let Some(flows) = host.browser() else {
        return not_enabled();
    };
    let now = host.now();
    let issuer = host.issuer();
    let source = crate::oauth::http::source_address(request.extensions());
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
    let cookie = host.session_cookie();
    let read = flows
        .sessions
        .with_cookie(cookie.read(request.headers()), now, |s| s.user.clone())
        .await;
    let mut existing = match stored(read) {
        Ok(found) => found,
        Err(r) => return r,
    };
    // A signed-in session whose account was disabled, deleted or given a new password
    // ended: continue as a browser without a session.
    if let Some((id, Some(u))) = &existing {
        match flow::still_signed_in(flows, id, u).await {
            Ok(true) => {}
            Ok(false) => existing = None,
            Err(r) => return r,
        }
    }
    let user = existing
        .as_ref()
        .and_then(|(_, u)| u.clone())
        .filter(|_| !req.prompt.login);
    if req.prompt.none {
        return match user {
            None => flow::refuse(issuer, &req, "login_required", "no signed-in session"),
            Some(u) if flow::needs_consent(flows, &req, &u).await => {
                flow::refuse(issuer, &req, "consent_required", "consent is required")
            }
            Some(u) => flow::issue(host.as_ref(), &req, &u, now).await,
        };
    }
    let (session_id, fresh) = match existing {
        Some((id, _)) => (id, false),
        None => match new_session(flows, now, source).await {
            Ok(id) => (id, true),
            Err(r) => return r,
        },
    };
    let now_s = unix_seconds(now);
    let added = flows.sessions.with(&session_id, now, |s| {
        let id = s.add_pending(req.clone(), now_s)?;
        Some((id, s.csrf.clone()))
    });
    let Ok(Some(Some((request_id, csrf)))) = added.await else {
        return unavailable();
    };
    let response = match user {
        Some(u) => proceed(host.as_ref(), flows, &session_id, &request_id, &u, now).await,
        None => pages::login(
            form(&host.route(LOGIN), &csrf, &request_id, &req),
            StatusCode::OK,
            None,
        )
        .into_response(),
    };
    if fresh {
        with_session(response, &cookie, &session_id)
    } else {
        response
    }
}

/// `POST /oauth2/consent`: approve or deny.
pub async fn consent_post<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request,
) -> Response {
    let (flows, now, posted) = match form_post(host.as_ref(), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request_id = posted.request_id();
    let now_s = unix_seconds(now);
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        let user = s.user.clone()?;
        Some((s.take_pending(&request_id, now_s)?, user))
    });
    let Some((req, user)) = (match stored(found.await) {
        Ok(found) => found.flatten(),
        Err(r) => return r,
    }) else {
        return expired();
    };
    match flow::still_signed_in(flows, &posted.session_id, &user).await {
        Ok(true) => {}
        Ok(false) => return flow::signed_out(),
        Err(r) => return r,
    }
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
        .remember(&user.user_id, &req.client_id, &req.scopes, now)
        .await;
    flow::issue(host.as_ref(), &req, &user, now).await
}
