//! List and watch of pods, namespaces, nodes and `ClusterSPIFFEID`s, the custom resource's
//! `/status` subresource, and Leases — shaped like kube-apiserver's answers.
//!
//! Watch semantics: `?watch=true&resourceVersion=N` streams (newline-delimited JSON) every
//! change after N, then further changes as they happen; `allowWatchBookmarks=true` adds a
//! `BOOKMARK` about every second; a resourceVersion at or below the compacted revision gets
//! an `ERROR` event with a `410 Expired` Status (the client must relist); an empty or `0`
//! resourceVersion starts with synthetic `ADDED` events for everything. `labelSelector` is
//! not supported (the controller does not send one).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use serde_json::{Value, json};

use super::api::Shared;
use super::objects;
use super::state::{Cluster, node_key, pod_key};

/// The custom resource's group/version path.
pub(crate) const CRD_PATH: &str = "/apis/tessera.dev/v1alpha1/clusterspiffeids";

/// The routes of this module (merged into the API router before its auth layer).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/pods", get(pods))
        .route("/api/v1/namespaces", get(namespaces))
        .route("/api/v1/nodes", get(nodes))
        .route(CRD_PATH, get(cluster_spiffe_ids))
        .route(&format!("{CRD_PATH}/{{name}}"), get(get_resource))
        .route(&format!("{CRD_PATH}/{{name}}/status"), patch(patch_status))
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            axum::routing::post(create_lease),
        )
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
            get(get_lease).put(replace_lease),
        )
}

type Q = Query<HashMap<String, String>>;

async fn pods(s: State<Arc<Shared>>, q: Q) -> Response {
    collection(s, q, "pods").await
}

async fn namespaces(s: State<Arc<Shared>>, q: Q) -> Response {
    collection(s, q, "namespaces").await
}

async fn nodes(s: State<Arc<Shared>>, q: Q) -> Response {
    collection(s, q, "nodes").await
}

async fn cluster_spiffe_ids(s: State<Arc<Shared>>, q: Q) -> Response {
    collection(s, q, "clusterspiffeids").await
}

fn list_kind(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "pods" => ("v1", "PodList"),
        "namespaces" => ("v1", "NamespaceList"),
        "nodes" => ("v1", "NodeList"),
        _ => ("tessera.dev/v1alpha1", "ClusterSPIFFEIDList"),
    }
}

fn item_kind(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "pods" => ("v1", "Pod"),
        "namespaces" => ("v1", "Namespace"),
        "nodes" => ("v1", "Node"),
        _ => ("tessera.dev/v1alpha1", "ClusterSPIFFEID"),
    }
}

/// The current items of `resource`, each at its own resourceVersion.
fn items(cluster: &Cluster, resource: &str) -> Vec<Value> {
    match resource {
        "pods" => cluster
            .pods
            .values()
            .map(|p| {
                let rv = cluster
                    .item_rv
                    .get(&pod_key(&p.namespace, &p.name))
                    .copied()
                    .unwrap_or(cluster.revision);
                objects::pod(p, rv, false)
            })
            .collect(),
        "nodes" => cluster
            .nodes
            .values()
            .map(|n| {
                let rv = cluster
                    .item_rv
                    .get(&node_key(&n.name))
                    .copied()
                    .unwrap_or(cluster.revision);
                objects::node(n, rv)
            })
            .collect(),
        _ => cluster
            .objects
            .iter()
            .filter(|((r, _, _), _)| r == resource)
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

async fn collection(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    resource: &'static str,
) -> Response {
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    if q.get("labelSelector").is_some_and(|s| !s.is_empty()) {
        return objects::bad_request("the stand-in does not support labelSelector");
    }
    if !watch {
        let mut cluster = shared.cluster();
        *cluster
            .lists_served
            .entry(resource.to_string())
            .or_default() += 1;
        let (api_version, kind) = list_kind(resource);
        let body = json!({
            "kind": kind,
            "apiVersion": api_version,
            "metadata": {"resourceVersion": cluster.revision.to_string()},
            "items": items(&cluster, resource),
        });
        return axum::Json(body).into_response();
    }
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
    tokio::spawn(watch_loop(shared, resource, from, bookmarks, timeout, tx));
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn line(v: &Value) -> Result<Bytes, std::convert::Infallible> {
    let mut text = v.to_string();
    text.push('\n');
    Ok(Bytes::from(text))
}

async fn watch_loop(
    shared: Arc<Shared>,
    resource: &'static str,
    from: u64,
    bookmarks: bool,
    timeout: Duration,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::convert::Infallible>>,
) {
    let started = tokio::time::Instant::now();
    let start = {
        let mut cluster = shared.cluster();
        if from != 0 && from <= cluster.compacted {
            cluster.gone_served += 1;
            Err(json!({
                "type": "ERROR",
                "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure",
                    "message": format!("too old resource version: {from} ({})", cluster.compacted + 1),
                    "reason": "Expired", "code": 410,
                },
            }))
        } else if from == 0 {
            // "Any": the current state as ADDED events first.
            let (api_version, kind) = item_kind(resource);
            for mut item in items(&cluster, resource) {
                item["apiVersion"] = json!(api_version);
                item["kind"] = json!(kind);
                if tx
                    .try_send(line(&json!({"type": "ADDED", "object": item})))
                    .is_err()
                {
                    return;
                }
            }
            Ok((cluster.revision, cluster.watch_epoch))
        } else {
            Ok((from, cluster.watch_epoch))
        }
    };
    let (mut last, epoch) = match start {
        Ok(start) => start,
        Err(gone) => {
            let _ = tx.send(line(&gone)).await;
            return;
        }
    };
    let mut last_sent = tokio::time::Instant::now();
    loop {
        let (batch, revision, ended) = {
            let cluster = shared.cluster();
            let batch: Vec<Value> = cluster
                .events
                .iter()
                .filter(|e| e.rv > last && e.resource == resource)
                .map(|e| json!({"type": e.kind, "object": e.object}))
                .collect();
            (batch, cluster.revision, cluster.watch_epoch != epoch)
        };
        if ended || started.elapsed() >= timeout {
            return;
        }
        for event in &batch {
            if tx.send(line(event)).await.is_err() {
                return;
            }
            last_sent = tokio::time::Instant::now();
        }
        last = revision;
        if bookmarks && last_sent.elapsed() >= Duration::from_secs(1) {
            let (api_version, kind) = item_kind(resource);
            let mark = json!({"type": "BOOKMARK", "object": {
                "kind": kind, "apiVersion": api_version,
                "metadata": {"resourceVersion": revision.to_string()},
            }});
            if tx.send(line(&mark)).await.is_err() {
                return;
            }
            last_sent = tokio::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_resource(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let cluster = shared.cluster();
    let key = ("clusterspiffeids".to_string(), String::new(), name.clone());
    match cluster.objects.get(&key) {
        Some(o) => axum::Json(o.clone()).into_response(),
        None => objects::not_found("clusterspiffeids.tessera.dev", &name),
    }
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// `PATCH …/{name}/status` (merge patch): only `status` changes, as on the real subresource.
async fn patch_status(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/merge-patch+json" {
        return objects::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            &format!("the body of the request was in an unknown format: {content_type}"),
            None,
        );
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return objects::bad_request("the body of the request was in an unknown format");
    };
    let mut cluster = shared.cluster();
    let key = ("clusterspiffeids".to_string(), String::new(), name.clone());
    let Some(mut obj) = cluster.objects.get(&key).cloned() else {
        return objects::not_found("clusterspiffeids.tessera.dev", &name);
    };
    if let Some(status) = patch.get("status") {
        let mut current = obj.get("status").cloned().unwrap_or(json!({}));
        merge_patch(&mut current, status);
        obj["status"] = current;
    }
    let stored = cluster.put_object("clusterspiffeids", "", &name, obj);
    axum::Json(stored).into_response()
}

fn lease_key(ns: &str, name: &str) -> (String, String, String) {
    ("leases".to_string(), ns.to_string(), name.to_string())
}

async fn get_lease(
    State(shared): State<Arc<Shared>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    match shared.cluster().objects.get(&lease_key(&ns, &name)) {
        Some(o) => axum::Json(o.clone()).into_response(),
        None => objects::not_found("leases.coordination.k8s.io", &name),
    }
}

fn conflict(reason: &str, message: String, name: &str) -> Response {
    objects::status(
        StatusCode::CONFLICT,
        reason,
        &message,
        Some(json!({"name": name, "group": "coordination.k8s.io", "kind": "leases"})),
    )
}

async fn create_lease(
    State(shared): State<Arc<Shared>>,
    Path(ns): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
        return objects::bad_request("the body of the request was in an unknown format");
    };
    let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
        return objects::status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            "Lease.coordination.k8s.io is invalid: metadata.name: Required value",
            None,
        );
    };
    let mut cluster = shared.cluster();
    if cluster.objects.contains_key(&lease_key(&ns, &name)) {
        return conflict(
            "AlreadyExists",
            format!("leases.coordination.k8s.io \"{name}\" already exists"),
            &name,
        );
    }
    obj["apiVersion"] = json!("coordination.k8s.io/v1");
    obj["kind"] = json!("Lease");
    let stored = cluster.put_object("leases", &ns, &name, obj);
    (StatusCode::CREATED, axum::Json(stored)).into_response()
}

async fn replace_lease(
    State(shared): State<Arc<Shared>>,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
        return objects::bad_request("the body of the request was in an unknown format");
    };
    let mut cluster = shared.cluster();
    let Some(current) = cluster.objects.get(&lease_key(&ns, &name)) else {
        return objects::not_found("leases.coordination.k8s.io", &name);
    };
    let stored_rv = current["metadata"]["resourceVersion"].clone();
    if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
        && Some(rv) != stored_rv.as_str()
    {
        return conflict(
            "Conflict",
            format!(
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the \
                 object has been modified; please apply your changes to the latest version and \
                 try again"
            ),
            &name,
        );
    }
    obj["apiVersion"] = json!("coordination.k8s.io/v1");
    obj["kind"] = json!("Lease");
    let stored = cluster.put_object("leases", &ns, &name, obj);
    axum::Json(stored).into_response()
}
