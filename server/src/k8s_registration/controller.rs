//! The controller: while it holds the Lease, watches `ClusterSPIFFEID`s, pods, namespaces
//! and nodes (reflectors: list, then watch from the list's resourceVersion, relist on 410
//! Gone), and after every change (debounced) and every `resync_interval` reconciles from
//! scratch: desired entries → diff against owned entries → writes → statuses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::TrustDomain;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::apply::{ControllerStore, apply};
use super::desired::{ClusterView, Namespaces, NodeView, PodView, Settings, desired, managed_by};
use super::diff::plan;
use super::kube_lease::KubeLease;
use super::lease::{ElectionConfig, Elector};
use super::resource::{GROUP, KIND, PLURAL, Resource, VERSION};
use super::status::status;
use crate::config::K8sRegistrationSection;
use crate::registration::Policy;

/// How long after a change the controller waits for more before reconciling.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Why the controller could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControllerError {
    /// The cluster's API client could not be configured.
    #[error("cluster {cluster}: {message}")]
    Client {
        /// The cluster.
        cluster: String,
        /// Why.
        message: String,
    },
}

/// The `ClusterSPIFFEID` API resource.
pub fn api_resource() -> ApiResource {
    ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: format!("{GROUP}/{VERSION}"),
        kind: KIND.into(),
        plural: PLURAL.into(),
    }
}

struct Inner<S> {
    store: S,
    client: kube::Client,
    settings: Settings,
    class_name: Option<String>,
    clock: Arc<dyn Clock>,
    resync: Duration,
}

/// The registration controller of one cluster.
pub struct Controller<S> {
    inner: Arc<Inner<S>>,
    lease: KubeLease,
    election: ElectionConfig,
}

impl<S> std::fmt::Debug for Controller<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("cluster", &self.inner.settings.cluster_name)
            .field("identity", &self.election.identity)
            .finish_non_exhaustive()
    }
}

impl<S: ControllerStore> Controller<S> {
    /// A controller for `section`'s cluster writing to `store`; `identity` names this
    /// replica in the Lease.
    pub async fn connect(
        section: &K8sRegistrationSection,
        trust_domain: TrustDomain,
        policy: Policy,
        store: S,
        identity: String,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ControllerError> {
        let client = crate::attestation::KubeClient::new(section.kubeconfig.as_deref())
            .await
            .map_err(|e| ControllerError::Client {
                cluster: section.cluster_name.clone(),
                message: e.to_string(),
            })?
            .client();
        let settings = Settings {
            trust_domain,
            cluster_name: section.cluster_name.clone(),
            cluster_domain: section.cluster_domain.clone(),
            ignore_namespaces: section.ignore_namespaces.iter().cloned().collect(),
            managed_by: managed_by(&section.cluster_name),
            policy,
        };
        Ok(Self {
            lease: KubeLease::new(
                client.clone(),
                &section.lease_namespace,
                &section.lease_name,
            ),
            election: ElectionConfig {
                identity,
                lease_duration: section.lease_duration,
                renew_interval: section.renew_interval,
            },
            inner: Arc::new(Inner {
                store,
                client,
                settings,
                class_name: section.class_name.clone(),
                clock,
                resync: section.resync_interval,
            }),
        })
    }

    /// Runs until `shutdown`: competes for the Lease and reconciles while holding it.
    pub async fn run(self, shutdown: CancellationToken) {
        let elector = Elector::new(self.lease, self.election, self.inner.clock.clone());
        let inner = self.inner;
        elector
            .run(shutdown, move |token| {
                let inner = inner.clone();
                async move { inner.lead(token).await }
            })
            .await;
    }
}

/// Drives one reflector stream, waking the reconciler on every event.
async fn drive<T>(
    stream: impl Stream<Item = Result<T, watcher::Error>>,
    notify: Arc<Notify>,
    what: &'static str,
) {
    tokio::pin!(stream);
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => notify.notify_one(),
            // 410 Gone is routine (the watcher relists); anything else (a missing CRD,
            // RBAC) keeps the controller from syncing and must be visible.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => {
                tracing::debug!(what, "k8s registration: watch expired (relisting)");
            }
            Err(e) => {
                tracing::warn!(error = %e, what, "k8s registration: watch failed (retrying)");
            }
        }
    }
}

struct Stores {
    pods: Store<Pod>,
    namespaces: Store<Namespace>,
    nodes: Store<Node>,
    resources: Store<DynamicObject>,
}

fn labels(map: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    map.cloned().unwrap_or_default()
}

fn pod_view(p: &Pod) -> PodView {
    let spec = p.spec.as_ref();
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    PodView {
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: p.metadata.uid.clone().unwrap_or_default(),
        labels: labels(p.metadata.labels.as_ref()),
        annotations: labels(p.metadata.annotations.as_ref()),
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".into()),
        node_name: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        hostname: spec.and_then(|s| s.hostname.clone()).unwrap_or_default(),
        subdomain: spec.and_then(|s| s.subdomain.clone()).unwrap_or_default(),
        active: !matches!(phase, Some("Succeeded" | "Failed")),
    }
}

impl<S: ControllerStore> Inner<S> {
    fn serves(&self, o: &DynamicObject) -> bool {
        let class = o
            .data
            .get("spec")
            .and_then(|s| s.get("className"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty());
        class == self.class_name.as_deref()
    }

    async fn lead(self: Arc<Self>, token: CancellationToken) {
        let client = self.client.clone();
        let notify = Arc::new(Notify::new());
        let config = watcher::Config::default;
        let (pods, pods_w) = reflector::store::<Pod>();
        let (namespaces, ns_w) = reflector::store::<Namespace>();
        let (nodes, nodes_w) = reflector::store::<Node>();
        let ar = api_resource();
        let res_w = reflector::store::Writer::<DynamicObject>::new(ar.clone());
        let resources = res_w.as_reader();
        let mut tasks = JoinSet::new();
        tasks.spawn(drive(
            reflector::reflector(pods_w, watcher(Api::<Pod>::all(client.clone()), config()))
                .default_backoff(),
            notify.clone(),
            "pods",
        ));
        tasks.spawn(drive(
            reflector::reflector(
                ns_w,
                watcher(Api::<Namespace>::all(client.clone()), config()),
            )
            .default_backoff(),
            notify.clone(),
            "namespaces",
        ));
        tasks.spawn(drive(
            reflector::reflector(nodes_w, watcher(Api::<Node>::all(client.clone()), config()))
                .default_backoff(),
            notify.clone(),
            "nodes",
        ));
        tasks.spawn(drive(
            reflector::reflector(
                res_w,
                watcher(
                    Api::<DynamicObject>::all_with(client.clone(), &ar),
                    config(),
                ),
            )
            .default_backoff(),
            notify.clone(),
            "clusterspiffeids",
        ));
        let stores = Stores {
            pods,
            namespaces,
            nodes,
            resources,
        };
        // Never reconcile on a partial view: that would delete the entries of pods not yet
        // listed.
        let ready = async {
            let _ = stores.pods.wait_until_ready().await;
            let _ = stores.namespaces.wait_until_ready().await;
            let _ = stores.nodes.wait_until_ready().await;
            let _ = stores.resources.wait_until_ready().await;
        };
        tokio::select! {
            () = token.cancelled() => {
                tasks.abort_all();
                return;
            }
            () = ready => {}
        }
        tracing::info!(cluster = %self.settings.cluster_name, "k8s registration: caches synced");
        loop {
            self.reconcile(&stores, &ar).await;
            tokio::select! {
                () = token.cancelled() => break,
                () = notify.notified() => {
                    tokio::select! {
                        () = token.cancelled() => break,
                        () = tokio::time::sleep(DEBOUNCE) => {}
                    }
                }
                () = tokio::time::sleep(self.resync) => {}
            }
        }
        tasks.abort_all();
    }

    async fn reconcile(&self, stores: &Stores, ar: &ApiResource) {
        let now = self.clock.now();
        let namespaces: Namespaces = stores
            .namespaces
            .state()
            .iter()
            .filter_map(|n| Some((n.metadata.name.clone()?, labels(n.metadata.labels.as_ref()))))
            .collect();
        let nodes: BTreeMap<String, NodeView> = stores
            .nodes
            .state()
            .iter()
            .filter_map(|n| {
                Some((
                    n.metadata.name.clone()?,
                    NodeView {
                        uid: n.metadata.uid.clone().unwrap_or_default(),
                        labels: labels(n.metadata.labels.as_ref()),
                        annotations: labels(n.metadata.annotations.as_ref()),
                    },
                ))
            })
            .collect();
        let pods: Vec<PodView> = stores.pods.state().iter().map(|p| pod_view(p)).collect();
        let served: Vec<Arc<DynamicObject>> = stores
            .resources
            .state()
            .into_iter()
            .filter(|o| self.serves(o))
            .collect();
        let resources: BTreeMap<String, _> = served
            .iter()
            .filter_map(|o| {
                let name = o.metadata.name.clone()?;
                let spec = o.data.get("spec").cloned().unwrap_or(Value::Null);
                let parsed = Resource::parse(&name, &spec);
                Some((name, parsed))
            })
            .collect();
        let mut want = desired(
            &self.settings,
            &resources,
            ClusterView {
                namespaces: &namespaces,
                nodes: &nodes,
                pods: &pods,
            },
        );
        let mb = &self.settings.managed_by;
        match self.store.owned_entries(mb).await {
            Err(e) => {
                tracing::warn!(error = %e, "k8s registration: listing owned entries failed; retrying later");
                return;
            }
            Ok(owned) => {
                let p = plan(&want.entries, &owned, mb);
                if !p.is_empty() {
                    let applied = apply(
                        &self.store,
                        p,
                        unix_seconds(now),
                        &want.resource_of,
                        &mut want.reports,
                    )
                    .await;
                    tracing::info!(
                        cluster = %self.settings.cluster_name,
                        created = applied.created,
                        updated = applied.updated,
                        deleted = applied.deleted,
                        failed = applied.failed,
                        "k8s registration: reconciled"
                    );
                }
            }
        }
        let now_text = k8s_openapi::jiff::Timestamp::try_from(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let api = Api::<DynamicObject>::all_with(self.client.clone(), ar);
        let mut seen = BTreeSet::new();
        for o in &served {
            let Some(name) = o.metadata.name.as_deref() else {
                continue;
            };
            seen.insert(name);
            let report = want.reports.get(name).cloned().unwrap_or_default();
            let previous = o.data.get("status");
            let mut new = status(&report, o.metadata.generation, previous, &now_text);
            if previous == Some(&new) {
                continue;
            }
            if new.get("errors").is_none() {
                new["errors"] = Value::Null;
            }
            let patch = json!({ "status": new });
            if let Err(e) = api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(resource = name, error = %e, "k8s registration: status update failed");
            }
        }
    }
}
