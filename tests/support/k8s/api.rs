//! The HTTP side: kube-apiserver routes (TokenReview, pods, nodes, issuer discovery) and the
//! kubelet's `/pods`, with bearer-token authentication.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::objects;
use super::review::review;
use super::state::Cluster;
use super::token::SigningKey;

/// State shared by the listeners and the test thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cluster: Mutex<Cluster>,
    pub(crate) key: SigningKey,
    pub(crate) issuer: String,
    pub(crate) api_token: String,
}

impl Shared {
    pub(crate) fn cluster(&self) -> std::sync::MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kubeconfig user's token, or any valid service-account token (API server audience).
    /// There is no RBAC: every authenticated caller may call every route.
    fn authenticated(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
        else {
            return false;
        };
        if token.is_empty() {
            return false;
        }
        if token == self.api_token {
            return true;
        }
        review(token, &[], &self.issuer, &self.key, &self.cluster()).is_ok()
    }
}

/// The kube-apiserver routes.
pub(crate) fn api_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            post(token_review),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}", get(get_pod))
        .route("/api/v1/nodes/{name}", get(get_node))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/openid/v1/jwks", get(jwks))
        .merge(super::collections::routes())
        .fallback(|| async {
            objects::status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
                Some(json!({})),
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), api_auth))
        .with_state(shared)
}

/// The kubelet's routes; `secure` requires a bearer token (the read-only port does not).
pub(crate) fn kubelet_router(shared: Arc<Shared>, secure: bool) -> Router {
    let router = Router::new()
        .route("/pods", get(kubelet_pods))
        .route("/pods/", get(kubelet_pods));
    let router = if secure {
        router.layer(middleware::from_fn_with_state(shared.clone(), kubelet_auth))
    } else {
        router
    };
    router.with_state(shared)
}

async fn api_auth(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if shared.authenticated(request.headers()) {
        next.run(request).await
    } else {
        objects::unauthorized()
    }
}

/// The kubelet answers an unauthenticated request with a plain-text `Unauthorized` (as Go's
/// `http.Error` writes it).
async fn kubelet_auth(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if shared.authenticated(request.headers()) {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response()
    }
}

async fn token_review(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(Value::Object(mut review_obj)) = serde_json::from_slice::<Value>(&body) else {
        return objects::bad_request("the body of the request was in an unknown format");
    };
    let api_version = review_obj.get("apiVersion").and_then(Value::as_str);
    if api_version.is_some_and(|v| v != "authentication.k8s.io/v1") {
        return objects::bad_request(&format!(
            "the API version in the data ({}) does not match the expected API version \
             (authentication.k8s.io/v1)",
            api_version.unwrap_or_default()
        ));
    }
    if review_obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != "TokenReview")
    {
        return objects::bad_request("the kind in the data does not match TokenReview");
    }
    let spec = review_obj.get("spec").cloned().unwrap_or(Value::Null);
    let Some(token) = spec
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return objects::bad_request("token is required for TokenReview in authentication");
    };
    let audiences: Vec<String> = match spec.get("audiences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let strings: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if strings.len() != items.len() {
                return objects::bad_request("spec.audiences must be a list of strings");
            }
            strings
        }
        Some(_) => return objects::bad_request("spec.audiences must be a list of strings"),
    };
    let outcome = review(
        token,
        &audiences,
        &shared.issuer,
        &shared.key,
        &shared.cluster(),
    );
    let status = match outcome {
        Ok(ok) => json!({"authenticated": true, "user": ok.user, "audiences": ok.audiences}),
        Err(error) => json!({"user": {}, "error": error}),
    };
    review_obj.insert("apiVersion".into(), json!("authentication.k8s.io/v1"));
    review_obj.insert("kind".into(), json!("TokenReview"));
    review_obj.insert("metadata".into(), json!({"creationTimestamp": null}));
    review_obj.insert("status".into(), status);
    (StatusCode::CREATED, axum::Json(Value::Object(review_obj))).into_response()
}

async fn get_pod(
    State(shared): State<Arc<Shared>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    let cluster = shared.cluster();
    match cluster.pods.get(&(ns, name.clone())) {
        Some(pod) => axum::Json(objects::pod(pod, cluster.revision, true)).into_response(),
        None => objects::not_found("pods", &name),
    }
}

async fn get_node(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let cluster = shared.cluster();
    match cluster.nodes.get(&name) {
        Some(node) => axum::Json(objects::node(node, cluster.revision)).into_response(),
        None => objects::not_found("nodes", &name),
    }
}

async fn openid_configuration(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(objects::openid_configuration(&shared.issuer)).into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        axum::Json(json!({"keys": [shared.key.jwk()]})),
    )
        .into_response()
}

async fn kubelet_pods(State(shared): State<Arc<Shared>>) -> Response {
    let cluster = shared.cluster();
    let node = cluster.kubelet_node.clone().unwrap_or_default();
    let list = objects::pod_list(
        cluster.pods.values().filter(|p| p.node == node),
        cluster.revision,
    );
    axum::Json(list).into_response()
}
