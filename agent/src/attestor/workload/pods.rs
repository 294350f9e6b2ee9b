//! The kubelet's `/pods` answer (a `PodList`, only the fields attestation reads), finding
//! a container in it, and the `k8s` selectors of a pod and container.
//!
//! Selector semantics follow SPIRE's k8s workload attestor: pod images and container
//! images are listed both by `image` and by `imageID` (the digest form), and
//! `pod-image-count` is the number of container statuses.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::selectors::SelectorSet;

/// `PodList`.
#[derive(Debug, Default, Deserialize)]
pub struct PodList {
    /// The node's pods.
    #[serde(default)]
    pub items: Vec<Pod>,
}

/// `Pod` (subset).
#[derive(Debug, Default, Deserialize)]
pub struct Pod {
    /// `metadata`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(default)]
    pub spec: PodSpec,
    /// `status`.
    #[serde(default)]
    pub status: PodStatus,
}

/// `ObjectMeta` (subset).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Pod name.
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Pod UID.
    #[serde(default)]
    pub uid: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Owners (ReplicaSet, StatefulSet, DaemonSet, Job, Node for static pods …).
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
}

/// `OwnerReference` (subset).
#[derive(Debug, Default, Deserialize)]
pub struct OwnerReference {
    /// The owner's kind.
    #[serde(default)]
    pub kind: String,
    /// The owner's name.
    #[serde(default)]
    pub name: String,
    /// The owner's UID.
    #[serde(default)]
    pub uid: String,
}

/// `PodSpec` (subset).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The pod's service account.
    #[serde(default)]
    pub service_account_name: String,
    /// The node the pod runs on.
    #[serde(default)]
    pub node_name: String,
}

/// `PodStatus` (subset).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// Init containers.
    #[serde(default)]
    pub init_container_statuses: Vec<ContainerStatus>,
    /// App containers.
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatus>,
}

/// `ContainerStatus` (subset).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    #[serde(default)]
    pub name: String,
    /// Image as specified (e.g. `docker.io/library/nginx:1.27`).
    #[serde(default)]
    pub image: String,
    /// Resolved image (e.g. `docker.io/library/nginx@sha256:…`).
    #[serde(rename = "imageID", default)]
    pub image_id: String,
    /// `<runtime>://<id>`; empty while the container is being created.
    #[serde(rename = "containerID", default)]
    pub container_id: String,
}

impl ContainerStatus {
    /// Whether this status is for runtime container `id` (`containerd://ID`,
    /// `cri-o://ID`, `docker://ID`).
    fn is(&self, id: &str) -> bool {
        self.container_id
            .split_once("://")
            .is_some_and(|(_, cid)| cid.eq_ignore_ascii_case(id))
    }
}

/// The outcome of looking for a container in a pod list.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// Found: the pod and the container's status.
    Found(&'a Pod, &'a ContainerStatus),
    /// Not listed (yet): the container may still be starting.
    NotListed,
    /// Two pods claim the container: refuse rather than guess.
    Ambiguous,
}

/// Finds container `container_id` in pod `pod_uid` (pod UIDs are compared
/// case-insensitively; other pods are ignored).
pub fn find<'a>(list: &'a PodList, pod_uid: &str, container_id: &str) -> Lookup<'a> {
    let mut found = None;
    for pod in list
        .items
        .iter()
        .filter(|p| p.metadata.uid.eq_ignore_ascii_case(pod_uid))
    {
        let status = pod
            .status
            .container_statuses
            .iter()
            .chain(&pod.status.init_container_statuses)
            .find(|s| s.is(container_id));
        if let Some(status) = status {
            if found.is_some() {
                return Lookup::Ambiguous;
            }
            found = Some((pod, status));
        }
    }
    match found {
        Some((pod, status)) => Lookup::Found(pod, status),
        None => Lookup::NotListed,
    }
}

/// The `k8s` selectors of `pod` and its container `container`.
pub fn selectors(pod: &Pod, container: &ContainerStatus, out: &mut SelectorSet) {
    let k8s = |out: &mut SelectorSet, v: String| out.add("k8s", v);
    let m = &pod.metadata;
    k8s(out, format!("ns:{}", m.namespace));
    k8s(out, format!("sa:{}", pod.spec.service_account_name));
    k8s(out, format!("node-name:{}", pod.spec.node_name));
    k8s(out, format!("pod-uid:{}", m.uid));
    k8s(out, format!("pod-name:{}", m.name));
    for (k, v) in &m.labels {
        k8s(out, format!("pod-label:{k}:{v}"));
    }
    for owner in &m.owner_references {
        k8s(out, format!("pod-owner:{}:{}", owner.kind, owner.name));
        k8s(out, format!("pod-owner-uid:{}:{}", owner.kind, owner.uid));
    }
    let statuses = &pod.status.container_statuses;
    k8s(out, format!("pod-image-count:{}", statuses.len()));
    for image in statuses.iter().flat_map(images) {
        k8s(out, format!("pod-image:{image}"));
    }
    let inits = &pod.status.init_container_statuses;
    k8s(out, format!("pod-init-image-count:{}", inits.len()));
    for image in inits.iter().flat_map(images) {
        k8s(out, format!("pod-init-image:{image}"));
    }
    k8s(out, format!("container-name:{}", container.name));
    for image in images(container) {
        k8s(out, format!("container-image:{image}"));
    }
}

/// A status's image by tag and by digest (empty ones left out; the set dedupes).
fn images(s: &ContainerStatus) -> impl Iterator<Item = &str> {
    [s.image.as_str(), s.image_id.as_str()]
        .into_iter()
        .filter(|i| !i.is_empty())
}

#[cfg(test)]
#[path = "pods_tests.rs"]
pub(crate) mod tests;
