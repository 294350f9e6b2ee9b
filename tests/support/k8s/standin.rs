//! [`KubeStandIn`]: the API server, issuer and kubelet on loopback, driven from sync test code.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use base64::Engine;
use serde_json::Value;
use tokio::sync::oneshot;

use super::api::{Shared, api_router, kubelet_router};
use super::state::{Cluster, NodeInfo, PodInfo, PodSpec, random_hex};
use super::tls::{ServingCerts, TlsListener};
use super::token::{Binding, SigningKey, TokenRequest, claims};

/// A Kubernetes API server stand-in (HTTPS), with its service-account issuer and one node's
/// kubelet (secure HTTPS and read-only HTTP `/pods`). Stopped on drop.
pub struct KubeStandIn {
    shared: Arc<Shared>,
    ca_pem: String,
    url: String,
    kubelet_secure_url: String,
    kubelet_readonly_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KubeStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeStandIn")
            .field("url", &self.url)
            .field("kubelet_secure_url", &self.kubelet_secure_url)
            .field("kubelet_readonly_url", &self.kubelet_readonly_url)
            .finish_non_exhaustive()
    }
}

fn bind() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

impl KubeStandIn {
    /// Starts the stand-in on a background thread with its own tokio runtime; returns once all
    /// three listeners are bound.
    pub fn start() -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let certs = ServingCerts::generate();
        let (api, api_port) = bind();
        let (secure, secure_port) = bind();
        let (readonly, readonly_port) = bind();
        let url = format!("https://127.0.0.1:{api_port}");
        let shared = Arc::new(Shared {
            cluster: Mutex::new(Cluster::default()),
            key: SigningKey::generate(),
            issuer: url.clone(),
            api_token: random_hex(32),
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server_config = certs.server_config.clone();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kube-standin".to_string())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let api = tokio::net::TcpListener::from_std(api).unwrap();
                    let secure = tokio::net::TcpListener::from_std(secure).unwrap();
                    let readonly = tokio::net::TcpListener::from_std(readonly).unwrap();
                    let api = axum::serve(
                        TlsListener::new(api, server_config.clone()),
                        api_router(state.clone()),
                    );
                    let secure = axum::serve(
                        TlsListener::new(secure, server_config),
                        kubelet_router(state.clone(), true),
                    );
                    let readonly = axum::serve(readonly, kubelet_router(state, false));
                    tokio::select! {
                        _ = stopped => {}
                        r = api.into_future() => r.unwrap(),
                        r = secure.into_future() => r.unwrap(),
                        r = readonly.into_future() => r.unwrap(),
                    }
                });
            })
            .unwrap();
        Self {
            shared,
            ca_pem: certs.ca_pem,
            url,
            kubelet_secure_url: format!("https://127.0.0.1:{secure_port}"),
            kubelet_readonly_url: format!("http://127.0.0.1:{readonly_port}"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The API server's base URL, `https://127.0.0.1:PORT` (also the token issuer).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The service-account token issuer (`iss`), equal to [`Self::url`].
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The PEM of the CA that signed the API server's and the kubelet's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The kubeconfig user's bearer token.
    pub fn api_token(&self) -> &str {
        &self.shared.api_token
    }

    /// The kubelet's secure base URL (`https://127.0.0.1:PORT`; GET `/pods` with a bearer).
    pub fn kubelet_secure_url(&self) -> &str {
        &self.kubelet_secure_url
    }

    /// The kubelet's read-only base URL (`http://127.0.0.1:PORT`; GET `/pods`).
    pub fn kubelet_readonly_url(&self) -> &str {
        &self.kubelet_readonly_url
    }

    /// The `kid` of the issuer's signing key.
    pub fn key_id(&self) -> String {
        self.shared.key.kid().to_string()
    }

    /// Adds a node (random UID, InternalIP 127.0.0.1, default `kubernetes.io/*` labels). The
    /// first node added is the one the kubelet listeners serve.
    pub fn add_node(&self, name: &str) -> NodeInfo {
        self.shared.cluster().add_node(name)
    }

    /// Sets (or replaces) a label on a node.
    pub fn set_node_label(&self, node: &str, key: &str, value: &str) -> NodeInfo {
        let mut cluster = self.shared.cluster();
        cluster.revision += 1;
        let info = cluster
            .nodes
            .get_mut(node)
            .unwrap_or_else(|| panic!("node {node} does not exist"));
        info.labels.insert(key.to_string(), value.to_string());
        let info = info.clone();
        cluster.node_event(node, "MODIFIED");
        info
    }

    /// Deletes a node (its pods stay, as they would until garbage-collected).
    pub fn delete_node(&self, name: &str) -> Option<NodeInfo> {
        let mut cluster = self.shared.cluster();
        cluster.revision += 1;
        cluster.node_event(name, "DELETED");
        cluster.nodes.remove(name)
    }

    /// Makes the kubelet listeners serve `node`'s pods.
    pub fn set_kubelet_node(&self, node: &str) {
        self.shared.cluster().kubelet_node = Some(node.to_string());
    }

    /// Creates service account `namespace/name` if needed; returns its UID.
    pub fn add_service_account(&self, namespace: &str, name: &str) -> String {
        self.shared.cluster().service_account(namespace, name)
    }

    /// Adds a running pod (random UID, `containerd://` container IDs); its service account is
    /// created if needed and its node must exist.
    pub fn add_pod(&self, spec: PodSpec) -> PodInfo {
        self.shared.cluster().add_pod(spec)
    }

    /// The pod `namespace/name`, if it exists.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<PodInfo> {
        let key = (namespace.to_string(), name.to_string());
        self.shared.cluster().pods.get(&key).cloned()
    }

    /// Deletes a pod; tokens bound to it stop authenticating.
    pub fn delete_pod(&self, namespace: &str, name: &str) -> Option<PodInfo> {
        self.shared.cluster().delete_pod(namespace, name)
    }

    /// Deletes and recreates a pod with the same name, spec and node but a new UID and new
    /// container IDs (as a StatefulSet does); tokens bound to the old pod stop authenticating.
    pub fn recreate_pod(&self, namespace: &str, name: &str) -> PodInfo {
        let mut cluster = self.shared.cluster();
        let old = cluster
            .delete_pod(namespace, name)
            .unwrap_or_else(|| panic!("pod {namespace}/{name} does not exist"));
        let mut spec = PodSpec::new(namespace, name, &old.service_account, &old.node);
        spec.labels = old.labels;
        spec.containers = old
            .containers
            .iter()
            .map(|c| super::state::ContainerSpec::new(&c.name, &c.image))
            .collect();
        spec.owner = old.owner.map(|(kind, name, _)| (kind, name));
        cluster.add_pod(spec)
    }

    /// Sets (`Some`) or removes (`None`) a label of pod `namespace/name` (a MODIFIED event).
    pub fn set_pod_label(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> PodInfo {
        let mut cluster = self.shared.cluster();
        let k = (namespace.to_string(), name.to_string());
        let pod = cluster
            .pods
            .get_mut(&k)
            .unwrap_or_else(|| panic!("pod {namespace}/{name} does not exist"));
        match value {
            Some(v) => pod.labels.insert(key.to_string(), v.to_string()),
            None => pod.labels.remove(key),
        };
        let pod = pod.clone();
        cluster.revision += 1;
        cluster.pod_event(&pod, "MODIFIED");
        pod
    }

    /// Creates or relabels namespace `name` (`kubernetes.io/metadata.name` is always set).
    pub fn set_namespace(&self, name: &str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let obj = super::state::namespace_object(name, &labels);
        self.shared
            .cluster()
            .put_object("namespaces", "", name, obj);
    }

    /// Creates or replaces the `ClusterSPIFFEID` `name` with `spec` (its status is kept);
    /// returns it as stored.
    pub fn apply_cluster_spiffe_id(&self, name: &str, spec: Value) -> Value {
        let mut cluster = self.shared.cluster();
        let key = (
            "clusterspiffeids".to_string(),
            String::new(),
            name.to_string(),
        );
        let status = cluster
            .objects
            .get(&key)
            .and_then(|o| o.get("status").cloned());
        let mut obj = serde_json::json!({
            "apiVersion": "tessera.dev/v1alpha1",
            "kind": "ClusterSPIFFEID",
            "metadata": {"name": name},
            "spec": spec,
        });
        if let Some(status) = status {
            obj["status"] = status;
        }
        cluster.put_object("clusterspiffeids", "", name, obj)
    }

    /// Deletes the `ClusterSPIFFEID` `name`.
    pub fn delete_cluster_spiffe_id(&self, name: &str) -> Option<Value> {
        self.shared
            .cluster()
            .delete_object("clusterspiffeids", "", name)
    }

    /// The `ClusterSPIFFEID` `name` as stored (with the status the controller wrote).
    pub fn cluster_spiffe_id(&self, name: &str) -> Option<Value> {
        let key = (
            "clusterspiffeids".to_string(),
            String::new(),
            name.to_string(),
        );
        self.shared.cluster().objects.get(&key).cloned()
    }

    /// The Lease `namespace/name`.
    pub fn lease(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = (
            "leases".to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        self.shared.cluster().objects.get(&key).cloned()
    }

    /// Compacts the watch history, as etcd compaction does: open watches end, and a client
    /// watching again from a resourceVersion it saw before gets `410 Gone` and must relist.
    pub fn compact(&self) {
        let mut cluster = self.shared.cluster();
        cluster.revision += 1;
        cluster.compacted = cluster.revision - 1;
        cluster.watch_epoch += 1;
        cluster.events.clear();
    }

    /// How many `410 Gone` watch answers were served.
    pub fn gone_served(&self) -> u64 {
        self.shared.cluster().gone_served
    }

    /// How many lists of `resource` (e.g. `pods`) were served.
    pub fn lists_served(&self, resource: &str) -> u64 {
        self.shared
            .cluster()
            .lists_served
            .get(resource)
            .copied()
            .unwrap_or(0)
    }

    /// The claims of a real token for `req` (bound objects resolved now), to tweak and then
    /// sign with [`Self::sign_claims`] or [`Self::forge_claims`].
    pub fn token_claims(&self, req: &TokenRequest) -> Value {
        let mut cluster = self.shared.cluster();
        let service_account_uid = cluster.service_account(&req.namespace, &req.service_account);
        let pod = req.pod.as_ref().map(|name| {
            let pod = cluster
                .pods
                .get(&(req.namespace.clone(), name.clone()))
                .unwrap_or_else(|| panic!("pods \"{name}\" not found in {}", req.namespace));
            assert_eq!(
                pod.service_account, req.service_account,
                "pod {name} runs as service account {}, not {}",
                pod.service_account, req.service_account
            );
            (
                pod.name.clone(),
                pod.uid.clone(),
                pod.node.clone(),
                pod.node_uid.clone(),
            )
        });
        let binding = Binding {
            service_account_uid,
            pod,
        };
        claims(&self.shared.issuer, req, &binding)
    }

    /// A projected service-account token, RS256-signed by the issuer's key (what the kubelet
    /// mounts into a pod). The service account is created if needed; a named pod must exist.
    pub fn issue_token(&self, req: &TokenRequest) -> String {
        self.sign_claims(&self.token_claims(req))
    }

    /// Arbitrary claims signed by the issuer's real key.
    pub fn sign_claims(&self, claims: &Value) -> String {
        self.shared.key.sign(self.shared.key.kid(), claims)
    }

    /// A token with the claims of [`Self::issue_token`] and the issuer's `kid`, but signed by
    /// a different (attacker's) RSA key.
    pub fn forge_token(&self, req: &TokenRequest) -> String {
        self.forge_claims(&self.token_claims(req))
    }

    /// Arbitrary claims signed by a fresh key that is not the issuer's (header `kid` is the
    /// issuer's).
    pub fn forge_claims(&self, claims: &Value) -> String {
        SigningKey::generate().sign(self.shared.key.kid(), claims)
    }

    /// The issuer's JWKS document (what `/openid/v1/jwks` serves).
    pub fn jwks(&self) -> Value {
        serde_json::json!({"keys": [self.shared.key.jwk()]})
    }

    /// A kubeconfig for the stand-in (cluster with the CA inline, user with the bearer token),
    /// as YAML, named context `tessera-standin`.
    pub fn kubeconfig_yaml(&self) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: tessera-standin\n  \
               cluster:\n    \
                 server: {url}\n    \
                 certificate-authority-data: {ca}\n\
             users:\n\
             - name: tessera-standin-admin\n  \
               user:\n    \
                 token: {token}\n\
             contexts:\n\
             - name: tessera-standin\n  \
               context:\n    \
                 cluster: tessera-standin\n    \
                 user: tessera-standin-admin\n    \
                 namespace: default\n\
             current-context: tessera-standin\n\
             preferences: {{}}\n",
            url = self.url,
            token = self.shared.api_token,
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) {
        std::fs::write(path, self.kubeconfig_yaml()).unwrap();
    }
}

impl Drop for KubeStandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
