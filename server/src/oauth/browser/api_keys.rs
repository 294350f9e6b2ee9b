//! `GET/POST /oauth2/api-keys`: the self-service page of API keys (issue 17). A signed-in
//! user lists their keys, creates one (name, scope checkboxes from `[api_keys]
//! user_scopes`, an expiry within `max_lifetime`), sees its secret once, and revokes
//! keys. Every form carries the session's CSRF token (a post without it is refused with
//! 403 and changes nothing). Not signed in: a sign-in button, the login page, then back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_proto::clock::{from_unix_seconds, unix_seconds};

use super::BrowserHost;
use super::authorize::Params;
use super::flow::{AUDIT, Visit, sign_in_then, still_signed_in, visit};
use super::pages::{Page, error_line, escape, hidden};
use super::post::{form_post, not_enabled, page, stored, unavailable};
use crate::api_keys::{ApiKeyError, ApiKeyManager, ApiKeySecret, NewApiKey};
use crate::datastore::{
    ApiKeyOwner, ApiKeyRecord, ApiKeyStore, OAuthClientStore, TenantId, TenantScope, UserStore,
};
use crate::oauth::BoxFuture;

/// Path of the page.
pub const API_KEYS: &str = "/oauth2/api-keys";

/// The expiries offered (days), those within `max_lifetime`.
const EXPIRY_DAYS: [u64; 5] = [1, 7, 30, 60, 90];

/// The most keys listed on the page.
const MAX_LISTED: usize = 200;

/// What the page needs: one user's keys in the host's tenant.
pub trait ApiKeyPortal: Send + Sync + 'static {
    /// The scopes a user may put on a key.
    fn user_scopes(&self) -> &[String];
    /// The longest lifetime.
    fn max_lifetime(&self) -> Duration;
    /// The keys of `user_id`.
    fn list<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, ApiKeyError>>;
    /// Creates a key of `new.owner`.
    fn create(
        &self,
        new: NewApiKey,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<(ApiKeyRecord, ApiKeySecret), ApiKeyError>>;
    /// Revokes key `id` if `user_id` owns it (`NotFound` otherwise).
    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<ApiKeyRecord, ApiKeyError>>;
}

/// An [`ApiKeyManager`] bound to one tenant: the portal of that tenant's host.
#[derive(Debug, Clone)]
pub struct TenantApiKeys<S> {
    /// The manager.
    pub manager: ApiKeyManager<S>,
    /// The tenant.
    pub tenant: TenantId,
}

/// The actor of the page's changes in audit events.
const ACTOR: &str = "self_service";

impl<S> ApiKeyPortal for TenantApiKeys<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantScope + Clone + Send + Sync,
{
    fn user_scopes(&self) -> &[String] {
        &self.manager.settings().user_scopes
    }

    fn max_lifetime(&self) -> Duration {
        self.manager.settings().max_lifetime
    }

    fn list<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, ApiKeyError>> {
        Box::pin(async move {
            let owner = ApiKeyOwner::User(user_id.to_owned());
            let page = self
                .manager
                .list(&self.tenant, Some(&owner), "", MAX_LISTED)
                .await?;
            Ok(page.items)
        })
    }

    fn create(
        &self,
        new: NewApiKey,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<(ApiKeyRecord, ApiKeySecret), ApiKeyError>> {
        Box::pin(async move { self.manager.create(&self.tenant, new, ACTOR, now).await })
    }

    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<ApiKeyRecord, ApiKeyError>> {
        Box::pin(async move {
            let key = self.manager.get(&self.tenant, id).await?;
            if key.owner != ApiKeyOwner::User(user_id.to_owned()) {
                return Err(ApiKeyError::NotFound(id.to_owned()));
            }
            self.manager.revoke(&self.tenant, id, ACTOR, now).await
        })
    }
}

fn date(secs: i64) -> String {
    let t = time::OffsetDateTime::from(from_unix_seconds(secs));
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// What the list page shows above the list.
enum Notice<'a> {
    None,
    Created(&'a ApiKeySecret),
    Error(&'a str),
}

/// The page: the new secret (once), the create form, the keys with revoke buttons.
fn list_page(
    action: &str,
    csrf: &str,
    portal: &dyn ApiKeyPortal,
    keys: &[ApiKeyRecord],
    notice: Notice<'_>,
    now: i64,
) -> Page {
    let mut body = String::new();
    let status = match notice {
        Notice::None => StatusCode::OK,
        Notice::Created(secret) => {
            body.push_str(&format!(
                "<section id=\"new-key\"><p>Your new API key (shown only once: copy it now):</p>\n\
                 <p><code id=\"new-secret\">{}</code></p></section>\n",
                escape(secret.expose())
            ));
            StatusCode::OK
        }
        Notice::Error(message) => {
            body.push_str(&error_line(Some(message)));
            StatusCode::BAD_REQUEST
        }
    };
    let scopes: String = portal
        .user_scopes()
        .iter()
        .map(|s| {
            format!(
                "<label><input type=\"checkbox\" name=\"scope\" value=\"{v}\"> {v}</label>\n",
                v = escape(s)
            )
        })
        .collect();
    let max_days = portal.max_lifetime().as_secs() / 86_400;
    let expiries: String = EXPIRY_DAYS
        .iter()
        .filter(|d| **d <= max_days)
        .map(|d| {
            let selected = if *d == 30 { " selected" } else { "" };
            format!("<option value=\"{d}\"{selected}>{d} days</option>")
        })
        .collect();
    body.push_str(&format!(
        "<h2>New key</h2>\n<form method=\"post\" action=\"{action}\" id=\"create\">\n{csrf}{op}\n\
         <p><label>Name <input name=\"name\" required maxlength=\"200\"></label></p>\n\
         <fieldset><legend>Scopes</legend>\n{scopes}</fieldset>\n\
         <p><label>Expires in <select name=\"expires_in_days\">{expiries}</select></label></p>\n\
         <p><button type=\"submit\">Create key</button></p>\n</form>\n<h2>Your keys</h2>\n",
        csrf = hidden("csrf_token", csrf),
        op = hidden("action", "create"),
    ));
    if keys.is_empty() {
        body.push_str("<p>No keys yet.</p>\n");
    }
    body.push_str("<ul id=\"keys\">\n");
    for key in keys {
        let state = if key.revoked_at.is_some() {
            "revoked".to_owned()
        } else if key.expires_at <= now {
            "expired".to_owned()
        } else {
            format!("expires {}", date(key.expires_at))
        };
        let used = key.last_used_at.map_or_else(
            || "never used".to_owned(),
            |at| format!("last used {}", date(at)),
        );
        let revoke = if key.revoked_at.is_none() && key.expires_at > now {
            format!(
                "<form method=\"post\" action=\"{action}\">{csrf}{op}{id}\
                 <button type=\"submit\">Revoke</button></form>",
                csrf = hidden("csrf_token", csrf),
                op = hidden("action", "revoke"),
                id = hidden("key_id", &key.id),
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<li data-key-id=\"{id}\"><strong>{name}</strong> <code>{id}</code> — {scopes} — \
             <span class=\"state\">{state}</span>, {used} {revoke}</li>\n",
            id = escape(&key.id),
            name = escape(&key.name),
            scopes = escape(&key.scopes.join(" ")),
        ));
    }
    body.push_str("</ul>\n");
    Page {
        status,
        title: "API keys",
        body,
        form_target: None,
    }
}

/// The page of an anonymous `GET`: a sign-in button (a plain GET creates no session).
fn start(action: &str) -> Page {
    let body = format!(
        "<p>Sign in to manage your API keys.</p>\n\
         <form method=\"get\" action=\"{action}\">{sign_in}\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>",
        sign_in = hidden("sign_in", "1"),
    );
    Page {
        status: StatusCode::OK,
        title: "API keys",
        body,
        form_target: None,
    }
}

fn sign_in_first() -> Response {
    page(
        StatusCode::UNAUTHORIZED,
        "Your sign-in ended. Open the API keys page again.",
    )
}

/// `GET /oauth2/api-keys[?sign_in=1]`.
pub async fn api_keys_get<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request,
) -> Response {
    let (Some(flows), Some(portal)) = (host.browser(), host.api_key_portal()) else {
        return not_enabled();
    };
    let now = host.now();
    let source = crate::oauth::http::source_address(request.extensions());
    let params = Params::parse(request.uri().query().unwrap_or_default().as_bytes());
    let existing = match visit(host.as_ref(), flows, request.headers(), now).await {
        Ok(Visit::SignedIn { user, csrf }) => {
            return match portal.list(&user.user_id).await {
                Ok(keys) => list_page(
                    &host.route(API_KEYS),
                    &csrf,
                    portal,
                    &keys,
                    Notice::None,
                    unix_seconds(now),
                )
                .into_response(),
                Err(e) => failed(&e),
            };
        }
        Ok(Visit::Anonymous(existing)) => existing,
        Err(r) => return r,
    };
    if existing.is_none() && params.one("sign_in") != Ok(Some("1")) {
        return start(&host.route(API_KEYS)).into_response();
    }
    // Not signed in: the login page, then back here.
    let back = format!("{}{API_KEYS}", host.issuer());
    sign_in_then(host.as_ref(), flows, existing, source, "API keys", back).await
}

/// A store failure: logged, the 503 page.
fn failed(e: &ApiKeyError) -> Response {
    tracing::warn!(error = %e, "API keys page");
    unavailable()
}

/// `POST /oauth2/api-keys`: `action=create` (name, scope…, expires_in_days) or
/// `action=revoke` (key_id). The CSRF token is checked before anything else.
pub async fn api_keys_post<H: BrowserHost>(
    State(host): State<Arc<H>>,
    request: Request,
) -> Response {
    let Some(portal) = host.api_key_portal() else {
        return not_enabled();
    };
    let (flows, now, posted) = match form_post(host.as_ref(), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let found = flows.sessions.with(&posted.session_id, now, |s| {
        Some((s.user.clone()?, s.csrf.clone()))
    });
    let Some((user, csrf)) = (match stored(found.await) {
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
    let params = &posted.params;
    let outcome = match params.one("action").ok().flatten() {
        Some("create") => {
            let days = params
                .one("expires_in_days")
                .ok()
                .flatten()
                .and_then(|d| d.parse::<u64>().ok())
                .unwrap_or(0);
            let new = NewApiKey {
                owner: ApiKeyOwner::User(user.user_id.clone()),
                name: params
                    .one("name")
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .to_owned(),
                scopes: params.all("scope").into_iter().map(str::to_owned).collect(),
                audiences: Vec::new(),
                allowed_cidrs: Vec::new(),
                lifetime: Duration::from_secs(days.saturating_mul(86_400)),
            };
            portal
                .create(new, now)
                .await
                .map(|(_, secret)| Some(secret))
        }
        Some("revoke") => {
            let id = params.one("key_id").ok().flatten().unwrap_or_default();
            portal.revoke(&user.user_id, id, now).await.map(|_| None)
        }
        _ => return page(StatusCode::BAD_REQUEST, "Unknown action."),
    };
    let message;
    let notice = match &outcome {
        Ok(Some(secret)) => Notice::Created(secret),
        Ok(None) => Notice::None,
        Err(e @ (ApiKeyError::Datastore(_) | ApiKeyError::Random)) => return failed(e),
        Err(e) => {
            tracing::info!(target: AUDIT, event = "api_key_self_service_refused", user_id = %user.user_id, reason = %e);
            message = e.to_string();
            Notice::Error(&message)
        }
    };
    match portal.list(&user.user_id).await {
        Ok(keys) => list_page(
            &host.route(API_KEYS),
            &csrf,
            portal,
            &keys,
            notice,
            unix_seconds(now),
        )
        .into_response(),
        Err(e) => failed(&e),
    }
}
