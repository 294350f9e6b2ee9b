//! [`Realms`]: routes `/t/<tenant>/…` to that tenant's OAuth server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::RealmParts;
use crate::datastore::{Datastore, DatastoreError, TenantId};

/// How long a tenant's server is used before the tenant's existence is read again: a
/// tenant deleted through another replica stops being served within this bound.
pub const RECHECK: Duration = Duration::from_secs(2);

struct Held {
    router: Router,
    checked: Instant,
}

/// Every tenant's OAuth server below the default issuer.
pub struct Realms<S> {
    parts: RealmParts<S>,
    held: Mutex<HashMap<TenantId, Held>>,
}

impl<S> std::fmt::Debug for Realms<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realms").finish_non_exhaustive()
    }
}

/// A JSON error answer (RFC 6749 §5.2 shape).
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": description });
    (status, axum::Json(body)).into_response()
}

fn no_tenant() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such tenant")
}

impl<S: Datastore + Clone + std::fmt::Debug> Realms<S> {
    /// Tenants' servers built from `parts`.
    pub fn new(parts: RealmParts<S>) -> Arc<Self> {
        Arc::new(Self {
            parts,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// The routes to merge into the default tenant's router: `/t/{tenant}/…` and the RFC
    /// 8414 metadata location of a tenant's issuer,
    /// `/.well-known/oauth-authorization-server/t/{tenant}`.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/t/{tenant}", any(dispatch::<S>))
            .route("/t/{tenant}/{*rest}", any(dispatch::<S>))
            .route(
                "/.well-known/oauth-authorization-server/t/{tenant}",
                any(metadata::<S>),
            )
            .with_state(Arc::clone(self))
    }

    /// The router of `tenant`'s server; `None` when there is no such tenant.
    async fn router(&self, tenant: &TenantId) -> Result<Option<Router>, DatastoreError> {
        if let Some(held) = self.lock().get(tenant)
            && held.checked.elapsed() < RECHECK
        {
            return Ok(Some(held.router.clone()));
        }
        if self.parts.store.get_tenant(tenant).await?.is_none() {
            self.lock().remove(tenant);
            return Ok(None);
        }
        let mut held = self.lock();
        if let Some(h) = held.get_mut(tenant) {
            h.checked = Instant::now();
            return Ok(Some(h.router.clone()));
        }
        let router = self.parts.build(tenant)?.server.router();
        tracing::info!(%tenant, "tenant OAuth issuer ready");
        held.insert(
            tenant.clone(),
            Held {
                router: router.clone(),
                checked: Instant::now(),
            },
        );
        Ok(Some(router))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers `request` with `tenant`'s server, at `path` (query kept).
    async fn forward(&self, tenant: &str, path: &str, mut request: Request) -> Response {
        let Ok(tenant) = TenantId::parse(tenant) else {
            return no_tenant();
        };
        // The default tenant has one issuer: the configured one, not `/t/default`.
        if tenant.is_default() {
            return no_tenant();
        }
        let router = match self.router(&tenant).await {
            Ok(Some(router)) => router,
            Ok(None) => return no_tenant(),
            Err(e) => {
                tracing::error!(%tenant, error = %e, "tenant lookup failed");
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the datastore is unavailable",
                );
            }
        };
        let target = match request.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        let Ok(uri) = target.parse::<Uri>() else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "bad request path",
            );
        };
        *request.uri_mut() = uri;
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// `/t/{tenant}/{*rest}`: the tenant's server at `/{rest}` (the path as sent, not
/// percent-decoded).
async fn dispatch<S: Datastore + Clone + std::fmt::Debug>(
    State(realms): State<Arc<Realms<S>>>,
    request: Request<Body>,
) -> Response {
    let path = request.uri().path().to_owned();
    let Some(after) = path.strip_prefix("/t/") else {
        return no_tenant();
    };
    let (tenant, rest) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, "/"),
    };
    realms.forward(tenant, rest, request).await
}

/// `/.well-known/oauth-authorization-server/t/{tenant}` (RFC 8414 §3: the well-known
/// segment goes before the issuer's path).
async fn metadata<S: Datastore + Clone + std::fmt::Debug>(
    State(realms): State<Arc<Realms<S>>>,
    Path(tenant): Path<String>,
    request: Request<Body>,
) -> Response {
    realms
        .forward(&tenant, "/.well-known/oauth-authorization-server", request)
        .await
}
