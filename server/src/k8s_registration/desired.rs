//! The entries the cluster should have: a pure function of the resources, namespaces, nodes
//! and pods (no Kubernetes, no datastore), with each resource's statistics.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector};

use super::resource::{Resource, SpecError, Stats};
use super::template::RenderContext;
use crate::attestation::k8s_psat_agent_id;
use crate::datastore::triple_key;
use crate::registration::{Policy, validate};

/// Most error messages kept per resource (the counters count them all).
pub const MAX_ERRORS: usize = 8;
/// The path prefix no pod may be given: Tessera's own IDs (server, agents) live under it.
const RESERVED_PREFIX: &str = "/tessera/";

/// A namespace: its labels.
pub type Namespaces = BTreeMap<String, BTreeMap<String, String>>;

/// A node as the controller sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// A pod as the controller sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodView {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `spec.serviceAccountName`.
    pub service_account: String,
    /// `spec.nodeName` (empty: not scheduled).
    pub node_name: String,
    /// `spec.hostname`.
    pub hostname: String,
    /// `spec.subdomain`.
    pub subdomain: String,
    /// Not terminated (`status.phase` neither `Succeeded` nor `Failed`).
    pub active: bool,
}

/// What the controller is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our trust domain.
    pub trust_domain: TrustDomain,
    /// `cluster_name`.
    pub cluster_name: String,
    /// `cluster_domain`.
    pub cluster_domain: String,
    /// Namespaces never served.
    pub ignore_namespaces: BTreeSet<String>,
    /// The `managed_by` mark of this controller's entries.
    pub managed_by: String,
    /// Entry validation (the admin API's).
    pub policy: Policy,
}

/// The `managed_by` mark of the controller of `cluster`.
pub fn managed_by(cluster: &str) -> String {
    format!("k8s_registration/{cluster}")
}

/// The entry ID of resource `resource`'s entry for the pod with UID `pod_uid`: stable
/// across restarts and replicas (`k8s-` and 40 hex digits of a SHA-256).
pub fn entry_id(cluster: &str, resource: &str, pod_uid: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [cluster, resource, pod_uid] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let digest = ctx.finish();
    let hex = hex::encode(digest.as_ref());
    format!("k8s-{}", hex.get(..40).unwrap_or(&hex))
}

/// What one resource reports in its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The counters.
    pub stats: Stats,
    /// The spec is unusable (nothing of the resource applies).
    pub spec_error: Option<String>,
    /// The first [`MAX_ERRORS`] rendering and write errors.
    pub errors: Vec<String>,
}

impl Report {
    /// Records an error message (kept while fewer than [`MAX_ERRORS`]).
    pub fn error(&mut self, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(message);
        }
    }
}

/// The desired state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// Entries by ID (validated, normalized, `managed_by` set, `created_at` 0).
    pub entries: BTreeMap<String, Entry>,
    /// The resource of each entry.
    pub resource_of: BTreeMap<String, String>,
    /// Per resource, by name.
    pub reports: BTreeMap<String, Report>,
}

/// The cluster's state.
#[derive(Debug, Clone, Copy)]
pub struct ClusterView<'a> {
    /// Namespaces by name.
    pub namespaces: &'a Namespaces,
    /// Nodes by name.
    pub nodes: &'a BTreeMap<String, NodeView>,
    /// Every pod.
    pub pods: &'a [PodView],
}

fn render_entry(
    settings: &Settings,
    resource: &Resource,
    pod: &PodView,
    nodes: &BTreeMap<String, NodeView>,
) -> Result<Entry, String> {
    let node = nodes
        .get(&pod.node_name)
        .ok_or_else(|| format!("node {} not found", pod.node_name))?;
    let cx = RenderContext {
        trust_domain: settings.trust_domain.as_str(),
        cluster_name: &settings.cluster_name,
        cluster_domain: &settings.cluster_domain,
        pod_name: &pod.name,
        pod_namespace: &pod.namespace,
        pod_uid: &pod.uid,
        pod_labels: Some(&pod.labels),
        pod_annotations: Some(&pod.annotations),
        service_account: &pod.service_account,
        node_name: &pod.node_name,
        hostname: &pod.hostname,
        subdomain: &pod.subdomain,
        node_uid: &node.uid,
        node_labels: Some(&node.labels),
        node_annotations: Some(&node.annotations),
    };
    let spiffe_id = resource
        .spiffe_id
        .render(&cx)
        .map_err(|e| format!("spiffeIDTemplate: {e}"))?;
    let dns_names = resource
        .dns_names
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.render(&cx)
                .map_err(|e| format!("dnsNameTemplates[{i}]: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let parent = k8s_psat_agent_id(&settings.trust_domain, &settings.cluster_name, &node.uid)
        .map_err(|e| format!("agent ID of node {}: {e}", pod.node_name))?;
    if let Ok(id) = SpiffeId::parse(&spiffe_id)
        && (id.path() == "/tessera" || id.path().starts_with(RESERVED_PREFIX))
    {
        return Err(format!(
            "spiffe_id: {spiffe_id} is under /tessera/, reserved for Tessera's own identities"
        ));
    }
    let selector = |kind: &str, value: &str| Selector {
        r#type: "k8s".into(),
        value: format!("{kind}:{value}"),
    };
    let entry = Entry {
        id: entry_id(&settings.cluster_name, &resource.name, &pod.uid),
        spiffe_id,
        parent_id: parent.into_string(),
        selectors: vec![
            selector("ns", &pod.namespace),
            selector("sa", &pod.service_account),
            selector("pod-uid", &pod.uid),
        ],
        x509_svid_ttl: resource.x509_svid_ttl,
        jwt_svid_ttl: resource.jwt_svid_ttl,
        dns_names,
        federates_with: resource.federates_with.clone(),
        hint: resource.hint.clone(),
        managed_by: settings.managed_by.clone(),
        ..Entry::default()
    };
    validate(&entry, &settings.policy).map_err(|e| e.to_string())
}

/// Computes the desired entries. `resources` are by name, each checked or with its spec
/// error. A pod gets an entry from every matching non-fallback resource; from the fallback
/// resources only when no non-fallback resource matched it. An entry that cannot be rendered
/// or fails validation is counted and reported, and nothing of it is set.
pub fn desired(
    settings: &Settings,
    resources: &BTreeMap<String, Result<Resource, SpecError>>,
    cluster: ClusterView<'_>,
) -> Desired {
    let mut out = Desired::default();
    let mut usable: Vec<&Resource> = Vec::new();
    for (name, r) in resources {
        let report = out.reports.entry(name.clone()).or_default();
        match r {
            Ok(r) => usable.push(r),
            Err(e) => report.spec_error = Some(e.to_string()),
        }
    }
    // Namespaces each resource selects (ignored ones counted apart).
    let mut selected: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for r in &usable {
        let report = out.reports.entry(r.name.clone()).or_default();
        let set = selected.entry(r.name.as_str()).or_default();
        for (ns, labels) in cluster.namespaces {
            if r.namespace_selector.matches(labels) {
                if settings.ignore_namespaces.contains(ns) {
                    report.stats.namespaces_ignored += 1;
                } else {
                    report.stats.namespaces_selected += 1;
                    set.insert(ns.as_str());
                }
            }
        }
    }
    let (primary, fallback): (Vec<&Resource>, Vec<&Resource>) =
        usable.iter().partition(|r| !r.fallback);
    let mut triples: HashSet<Vec<u8>> = HashSet::new();
    for pod in cluster.pods {
        if !pod.active || pod.node_name.is_empty() || pod.uid.is_empty() {
            continue;
        }
        let matches = |r: &&&Resource| {
            selected
                .get(r.name.as_str())
                .is_some_and(|s| s.contains(pod.namespace.as_str()))
                && r.pod_selector.matches(&pod.labels)
        };
        let mut chosen: Vec<&Resource> = primary.iter().filter(matches).copied().collect();
        if chosen.is_empty() {
            chosen = fallback.iter().filter(matches).copied().collect();
        }
        for r in chosen {
            let report = out.reports.entry(r.name.clone()).or_default();
            report.stats.pods_selected += 1;
            match render_entry(settings, r, pod, cluster.nodes) {
                Err(e) => {
                    report.stats.pod_entry_render_failures += 1;
                    report.error(format!("pod {}/{}: {e}", pod.namespace, pod.name));
                }
                Ok(entry) => {
                    if triples.insert(triple_key(&entry)) {
                        report.stats.entries_to_set += 1;
                        out.resource_of.insert(entry.id.clone(), r.name.clone());
                        out.entries.insert(entry.id.clone(), entry);
                    } else {
                        report.stats.entries_masked += 1;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
