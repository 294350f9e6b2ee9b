//! The stand-in's cluster state: nodes, pods and service accounts, with the UIDs and container
//! IDs the real control plane would assign.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::objects;

/// A node as the stand-in knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid` (random UUID).
    pub uid: String,
    /// `metadata.labels` (defaults: `kubernetes.io/hostname`, `kubernetes.io/os`,
    /// `kubernetes.io/arch`).
    pub labels: BTreeMap<String, String>,
    /// The `InternalIP` address (always loopback: nothing may be reached beyond this machine).
    pub internal_ip: String,
}

/// One container of a pod to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// `spec.containers[].name`.
    pub name: String,
    /// `spec.containers[].image`.
    pub image: String,
}

impl ContainerSpec {
    /// A container named `name` running `image`.
    pub fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.to_string(),
            image: image.to_string(),
        }
    }
}

/// A pod to create with [`super::KubeStandIn::add_pod`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpec {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.serviceAccountName` (the service account is created if it does not exist).
    pub service_account: String,
    /// `spec.nodeName` (must be a node added before).
    pub node: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.containers`; empty means one container `app` running `registry.local/app:1.0`.
    pub containers: Vec<ContainerSpec>,
    /// A controlling owner `(kind, name)`, e.g. `("ReplicaSet", "web-5d9c")`.
    pub owner: Option<(String, String)>,
}

impl PodSpec {
    /// A pod `namespace/name` of service account `service_account` scheduled on `node`.
    pub fn new(namespace: &str, name: &str, service_account: &str, node: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
            service_account: service_account.to_string(),
            node: node.to_string(),
            labels: BTreeMap::new(),
            containers: Vec::new(),
            owner: None,
        }
    }

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// Adds a container.
    pub fn container(mut self, name: &str, image: &str) -> Self {
        self.containers.push(ContainerSpec::new(name, image));
        self
    }

    /// Sets the controlling owner reference.
    pub fn owner(mut self, kind: &str, name: &str) -> Self {
        self.owner = Some((kind.to_string(), name.to_string()));
        self
    }
}

/// A running container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Container name.
    pub name: String,
    /// Image as written in the spec.
    pub image: String,
    /// `status.containerStatuses[].imageID` (`<repo>@sha256:<64hex>`).
    pub image_id: String,
    /// The bare 64-hex container ID (as it appears in `/proc/PID/cgroup`).
    pub id: String,
    /// `status.containerStatuses[].containerID`, i.e. `containerd://<id>`.
    pub container_id: String,
}

/// A pod as the stand-in knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid` (random UUID; a recreated pod gets a new one).
    pub uid: String,
    /// `spec.serviceAccountName`.
    pub service_account: String,
    /// The service account's UID.
    pub service_account_uid: String,
    /// `spec.nodeName`.
    pub node: String,
    /// The node's UID.
    pub node_uid: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Containers with their runtime IDs.
    pub containers: Vec<ContainerInfo>,
    /// `status.podIP`.
    pub pod_ip: String,
    /// `status.hostIP` (the node's InternalIP).
    pub host_ip: String,
    /// Controlling owner `(kind, name, uid)`.
    pub owner: Option<(String, String, String)>,
    /// Creation time (RFC 3339), also used as container start time.
    pub created: String,
}

/// Everything the stand-in's API serves.
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    pub(crate) nodes: BTreeMap<String, NodeInfo>,
    /// Keyed by (namespace, name).
    pub(crate) pods: BTreeMap<(String, String), PodInfo>,
    /// (namespace, name) → UID.
    pub(crate) service_accounts: BTreeMap<(String, String), String>,
    /// The node whose kubelet the kubelet listeners impersonate (the first node added unless
    /// set).
    pub(crate) kubelet_node: Option<String>,
    /// Bumped on every write; served as `metadata.resourceVersion`.
    pub(crate) revision: u64,
    pod_counter: u32,
    /// Every change since the start (the watch cache), oldest first.
    pub(crate) events: Vec<WatchEvent>,
    /// Watches from a resourceVersion at or below this get `410 Gone` (compacted history).
    pub(crate) compacted: u64,
    /// Bumped by [`super::KubeStandIn::compact`]: open watches end.
    pub(crate) watch_epoch: u64,
    /// `410 Gone` answers served, and lists served, per resource.
    pub(crate) gone_served: u64,
    pub(crate) lists_served: BTreeMap<String, u64>,
    /// Namespaces, custom resources and Leases as JSON, by (resource, namespace, name).
    pub(crate) objects: BTreeMap<(String, String, String), Value>,
    /// The resourceVersion of each pod (`ns/name`) and node (`name`) at its last change.
    pub(crate) item_rv: BTreeMap<String, u64>,
}

/// One watch event: `type` and the object as of `rv`.
#[derive(Debug, Clone)]
pub(crate) struct WatchEvent {
    pub(crate) rv: u64,
    pub(crate) resource: String,
    pub(crate) kind: &'static str,
    pub(crate) object: Value,
}

pub(crate) fn pod_key(namespace: &str, name: &str) -> String {
    format!("pods/{namespace}/{name}")
}

pub(crate) fn node_key(name: &str) -> String {
    format!("nodes/{name}")
}

impl Cluster {
    pub(crate) fn add_node(&mut self, name: &str) -> NodeInfo {
        assert!(!self.nodes.contains_key(name), "node {name} already exists");
        let mut labels = BTreeMap::new();
        labels.insert("kubernetes.io/hostname".to_string(), name.to_string());
        labels.insert("kubernetes.io/os".to_string(), "linux".to_string());
        labels.insert("kubernetes.io/arch".to_string(), "amd64".to_string());
        let node = NodeInfo {
            name: name.to_string(),
            uid: new_uid(),
            labels,
            internal_ip: "127.0.0.1".to_string(),
        };
        self.nodes.insert(name.to_string(), node.clone());
        self.kubelet_node.get_or_insert_with(|| name.to_string());
        self.revision += 1;
        self.node_event(name, "ADDED");
        node
    }

    /// Records a node change at the current revision.
    pub(crate) fn node_event(&mut self, name: &str, kind: &'static str) {
        let rv = self.revision;
        if let Some(node) = self.nodes.get(name) {
            let object = objects::node(node, rv);
            self.item_rv.insert(node_key(name), rv);
            self.record("nodes", kind, object);
        }
    }

    /// Records a pod change at the current revision.
    pub(crate) fn pod_event(&mut self, pod: &PodInfo, kind: &'static str) {
        let rv = self.revision;
        self.item_rv.insert(pod_key(&pod.namespace, &pod.name), rv);
        self.record("pods", kind, objects::pod(pod, rv, true));
    }

    pub(crate) fn record(&mut self, resource: &str, kind: &'static str, object: Value) {
        self.events.push(WatchEvent {
            rv: self.revision,
            resource: resource.to_string(),
            kind,
            object,
        });
    }

    /// Creates or replaces a JSON object: keeps its UID and creation time, sets
    /// `resourceVersion`, and bumps `generation` when `spec` changed. Returns it as stored.
    pub(crate) fn put_object(
        &mut self,
        resource: &str,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Value {
        self.revision += 1;
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let existing = self.objects.get(&key);
        let kind = if existing.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let old_meta = existing
            .map(|e| e["metadata"].clone())
            .unwrap_or(Value::Null);
        let generation = match existing {
            Some(e) if e.get("spec") == obj.get("spec") => old_meta["generation"].clone(),
            Some(_) => json!(old_meta["generation"].as_i64().unwrap_or(0) + 1),
            None => json!(1),
        };
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let meta = &mut obj["metadata"];
        meta["name"] = json!(name);
        if !ns.is_empty() {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = old_meta
            .get("uid")
            .cloned()
            .unwrap_or_else(|| json!(new_uid()));
        meta["creationTimestamp"] = old_meta
            .get("creationTimestamp")
            .cloned()
            .unwrap_or_else(|| json!(rfc3339(now_unix())));
        meta["resourceVersion"] = json!(self.revision.to_string());
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = generation;
        }
        self.objects.insert(key, obj.clone());
        self.record(resource, kind, obj.clone());
        obj
    }

    /// Deletes a JSON object (a DELETED event carries its last state at a new revision).
    pub(crate) fn delete_object(&mut self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let mut obj = self.objects.remove(&key)?;
        self.revision += 1;
        obj["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        self.record(resource, "DELETED", obj.clone());
        Some(obj)
    }

    /// Creates namespace `name` if it does not exist (with the `kubernetes.io/metadata.name`
    /// label the API server sets).
    pub(crate) fn ensure_namespace(&mut self, name: &str) {
        let key = ("namespaces".to_string(), String::new(), name.to_string());
        if !self.objects.contains_key(&key) {
            self.put_object(
                "namespaces",
                "",
                name,
                namespace_object(name, &BTreeMap::new()),
            );
        }
    }

    /// The UID of service account `namespace/name`, creating it if needed.
    pub(crate) fn service_account(&mut self, namespace: &str, name: &str) -> String {
        let key = (namespace.to_string(), name.to_string());
        if let Some(uid) = self.service_accounts.get(&key) {
            return uid.clone();
        }
        let uid = new_uid();
        self.service_accounts.insert(key, uid.clone());
        self.revision += 1;
        uid
    }

    pub(crate) fn add_pod(&mut self, spec: PodSpec) -> PodInfo {
        let key = (spec.namespace.clone(), spec.name.clone());
        assert!(
            !self.pods.contains_key(&key),
            "pod {}/{} already exists",
            spec.namespace,
            spec.name
        );
        let node = self
            .nodes
            .get(&spec.node)
            .unwrap_or_else(|| panic!("add_pod: node {} does not exist", spec.node))
            .clone();
        let sa_uid = self.service_account(&spec.namespace, &spec.service_account);
        let containers = if spec.containers.is_empty() {
            vec![ContainerSpec::new("app", "registry.local/app:1.0")]
        } else {
            spec.containers
        };
        let containers = containers
            .into_iter()
            .map(|c| {
                let id = random_hex(32);
                let repo = c.image.split(':').next().unwrap_or(&c.image).to_string();
                ContainerInfo {
                    image_id: format!("{repo}@sha256:{}", random_hex(32)),
                    container_id: format!("containerd://{id}"),
                    id,
                    name: c.name,
                    image: c.image,
                }
            })
            .collect();
        self.pod_counter += 1;
        let pod = PodInfo {
            namespace: spec.namespace,
            name: spec.name,
            uid: new_uid(),
            service_account: spec.service_account,
            service_account_uid: sa_uid,
            node: node.name,
            node_uid: node.uid,
            labels: spec.labels,
            containers,
            pod_ip: format!(
                "10.244.{}.{}",
                self.pod_counter / 250,
                self.pod_counter % 250 + 2
            ),
            host_ip: node.internal_ip,
            owner: spec.owner.map(|(kind, name)| (kind, name, new_uid())),
            created: rfc3339(now_unix()),
        };
        self.ensure_namespace(&pod.namespace);
        self.pods.insert(key, pod.clone());
        self.revision += 1;
        self.pod_event(&pod, "ADDED");
        pod
    }

    pub(crate) fn delete_pod(&mut self, namespace: &str, name: &str) -> Option<PodInfo> {
        self.revision += 1;
        let pod = self
            .pods
            .remove(&(namespace.to_string(), name.to_string()))?;
        self.pod_event(&pod, "DELETED");
        self.item_rv.remove(&pod_key(namespace, name));
        Some(pod)
    }
}

/// A Namespace object with `labels` plus `kubernetes.io/metadata.name`.
pub(crate) fn namespace_object(name: &str, labels: &BTreeMap<String, String>) -> Value {
    let mut labels = labels.clone();
    labels.insert("kubernetes.io/metadata.name".into(), name.into());
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) UUID, as Kubernetes assigns to `metadata.uid`.
pub(crate) fn new_uid() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2026-11-28T20:34:22Z`), as Kubernetes writes
/// `metav1.Time`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_898_062), "2026-11-28T20:34:22Z");
    }

    #[test]
    fn uid_is_v4() {
        let uid = super::new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
    }
}
