//! The JSON the stand-in serves: core/v1 Pod, Node, PodList and meta/v1 Status objects, shaped
//! like kube-apiserver's and the kubelet's output.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{NodeInfo, PodInfo};

/// A `meta/v1` `Status` failure object with the HTTP status it is served with.
pub(crate) fn status(
    code: StatusCode,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Response {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    (code, axum::Json(body)).into_response()
}

/// 404 for a named object of `kind` (plural resource name, e.g. `pods`).
pub(crate) fn not_found(kind: &str, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{kind} \"{name}\" not found"),
        Some(json!({"name": name, "kind": kind})),
    )
}

/// 400 BadRequest.
pub(crate) fn bad_request(message: &str) -> Response {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, None)
}

/// 401 Unauthorized, as kube-apiserver answers a request without valid credentials.
pub(crate) fn unauthorized() -> Response {
    status(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Unauthorized",
        None,
    )
}

/// A Pod; `typed` adds `apiVersion`/`kind` (a single GET has them, PodList items do not).
pub(crate) fn pod(p: &PodInfo, revision: u64, typed: bool) -> Value {
    let mut metadata = json!({
        "name": p.name,
        "namespace": p.namespace,
        "uid": p.uid,
        "resourceVersion": revision.to_string(),
        "creationTimestamp": p.created,
    });
    if !p.labels.is_empty() {
        metadata["labels"] = json!(p.labels);
    }
    if let Some((kind, name, uid)) = &p.owner {
        let api_version = if kind == "Job" { "batch/v1" } else { "apps/v1" };
        metadata["ownerReferences"] = json!([{
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    let containers: Vec<Value> = p
        .containers
        .iter()
        .map(|c| json!({"name": c.name, "image": c.image, "imagePullPolicy": "IfNotPresent"}))
        .collect();
    let statuses: Vec<Value> = p
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "state": {"running": {"startedAt": p.created}},
                "lastState": {},
                "ready": true,
                "restartCount": 0,
                "image": c.image,
                "imageID": c.image_id,
                "containerID": c.container_id,
                "started": true,
            })
        })
        .collect();
    let mut pod = json!({
        "metadata": metadata,
        "spec": {
            "containers": containers,
            "restartPolicy": "Always",
            "serviceAccountName": p.service_account,
            "serviceAccount": p.service_account,
            "nodeName": p.node,
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": p.created},
                {"type": "Ready", "status": "True", "lastTransitionTime": p.created},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": p.created},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": p.created},
            ],
            "hostIP": p.host_ip,
            "hostIPs": [{"ip": p.host_ip}],
            "podIP": p.pod_ip,
            "podIPs": [{"ip": p.pod_ip}],
            "startTime": p.created,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        },
    });
    if typed {
        pod["apiVersion"] = json!("v1");
        pod["kind"] = json!("Pod");
    }
    pod
}

/// A PodList (the kubelet's `/pods`).
pub(crate) fn pod_list<'a>(pods: impl Iterator<Item = &'a PodInfo>, revision: u64) -> Value {
    let items: Vec<Value> = pods.map(|p| pod(p, revision, false)).collect();
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
}

/// A Node.
pub(crate) fn node(n: &NodeInfo, revision: u64) -> Value {
    json!({
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": n.name,
            "uid": n.uid,
            "resourceVersion": revision.to_string(),
            "labels": n.labels,
        },
        "spec": {},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": n.internal_ip},
                {"type": "Hostname", "address": n.name},
            ],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "nodeInfo": {
                "kubeletVersion": "v1.33.0",
                "containerRuntimeVersion": "containerd://2.0.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "Tessera stand-in",
                "kernelVersion": "6.1.0",
                "kubeProxyVersion": "",
                "machineID": n.uid.replace('-', ""),
                "systemUUID": n.uid,
                "bootID": n.uid,
            },
        },
    })
}

/// The OpenID discovery document of the service-account issuer.
pub(crate) fn openid_configuration(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}
