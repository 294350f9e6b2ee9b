#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;

use super::*;

fn settings() -> Settings {
    let td = TrustDomain::new("example.org").unwrap();
    Settings {
        policy: Policy::new(td.clone(), Duration::from_secs(86_400)),
        trust_domain: td,
        cluster_name: "prod".into(),
        cluster_domain: "cluster.local".into(),
        ignore_namespaces: ["kube-system".to_string()].into(),
        managed_by: managed_by("prod"),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> PodView {
    PodView {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        labels: map(labels),
        service_account: "sa".into(),
        node_name: "node-1".into(),
        active: true,
        ..PodView::default()
    }
}

fn resources(specs: &[(&str, serde_json::Value)]) -> BTreeMap<String, Result<Resource, SpecError>> {
    specs
        .iter()
        .map(|(n, s)| (n.to_string(), Resource::parse(n, s)))
        .collect()
}

struct World {
    namespaces: Namespaces,
    nodes: BTreeMap<String, NodeView>,
    pods: Vec<PodView>,
}

impl World {
    fn new(pods: Vec<PodView>) -> Self {
        Self {
            namespaces: [
                ("shop".to_string(), map(&[("team", "a")])),
                ("kube-system".to_string(), map(&[])),
                ("other".to_string(), map(&[("team", "b")])),
            ]
            .into(),
            nodes: [(
                "node-1".to_string(),
                NodeView {
                    uid: "node-uid-1".into(),
                    ..NodeView::default()
                },
            )]
            .into(),
            pods,
        }
    }

    fn run(&self, specs: &[(&str, serde_json::Value)]) -> Desired {
        desired(
            &settings(),
            &resources(specs),
            ClusterView {
                namespaces: &self.namespaces,
                nodes: &self.nodes,
                pods: &self.pods,
            },
        )
    }
}

const TEMPLATE: &str = "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/{{ .PodMeta.Name }}";

#[test]
fn one_entry_per_matching_running_pod() {
    let mut done = pod("shop", "done", &[("app", "web")]);
    done.active = false;
    let mut pending = pod("shop", "pending", &[("app", "web")]);
    pending.node_name.clear();
    let world = World::new(vec![
        pod("shop", "web-0", &[("app", "web")]),
        pod("shop", "db-0", &[("app", "db")]),
        pod("kube-system", "web-sys", &[("app", "web")]),
        done,
        pending,
    ]);
    let d = world.run(&[(
        "web",
        json!({"spiffeIDTemplate": TEMPLATE, "podSelector": {"matchLabels": {"app": "web"}},
               "dnsNameTemplates": ["{{ .PodMeta.Name }}.{{ .PodMeta.Namespace }}.svc"],
               "ttl": "30m", "hint": "web"}),
    )]);
    assert_eq!(d.entries.len(), 1, "{d:?}");
    let e = d.entries.values().next().unwrap();
    assert_eq!(e.id, entry_id("prod", "web", "uid-web-0"));
    assert_eq!(e.spiffe_id, "spiffe://example.org/ns/shop/sa/sa/web-0");
    assert_eq!(
        e.parent_id,
        "spiffe://example.org/tessera/agent/k8s_psat/prod/node-uid-1"
    );
    let sels: Vec<String> = e
        .selectors
        .iter()
        .map(|s| format!("{}:{}", s.r#type, s.value))
        .collect();
    assert_eq!(sels, ["k8s:ns:shop", "k8s:pod-uid:uid-web-0", "k8s:sa:sa"]);
    assert_eq!(e.dns_names, ["web-0.shop.svc"]);
    assert_eq!(e.x509_svid_ttl, 1800);
    assert_eq!(e.managed_by, "k8s_registration/prod");
    let stats = &d.reports["web"].stats;
    assert_eq!(stats.pods_selected, 1);
    assert_eq!(stats.entries_to_set, 1);
    assert_eq!(stats.namespaces_selected, 2);
    assert_eq!(stats.namespaces_ignored, 1);
}

#[test]
fn namespace_selector_and_fallback() {
    let world = World::new(vec![
        pod("shop", "web-0", &[("app", "web")]),
        pod("other", "x-0", &[]),
    ]);
    let d = world.run(&[
        (
            "team-a",
            json!({"spiffeIDTemplate": TEMPLATE,
                   "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}}),
        ),
        (
            "fallback",
            json!({"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/fallback/{{ .PodMeta.Name }}", "fallback": true}),
        ),
    ]);
    let ids: Vec<&str> = d.entries.values().map(|e| e.spiffe_id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"spiffe://example.org/ns/shop/sa/sa/web-0"));
    assert!(ids.contains(&"spiffe://example.org/fallback/x-0"));
    assert_eq!(d.reports["fallback"].stats.pods_selected, 1);
}

#[test]
fn invalid_or_foreign_ids_are_reported_and_never_set() {
    let world = World::new(vec![pod("shop", "web-0", &[("app", "web")])]);
    for template in [
        "spiffe://evil.org/ns/{{ .PodMeta.Namespace }}",
        "spiffe://{{ .TrustDomain }}/a//b",
        "spiffe://{{ .TrustDomain }}/tessera/agent/k8s_psat/prod/node-uid-1",
        "spiffe://{{ .TrustDomain }}/{{ .PodMeta.Labels.missing }}",
        "https://{{ .TrustDomain }}/x",
    ] {
        let d = world.run(&[("bad", json!({ "spiffeIDTemplate": template }))]);
        assert!(d.entries.is_empty(), "{template}: {d:?}");
        let r = &d.reports["bad"];
        assert_eq!(r.stats.pod_entry_render_failures, 1, "{template}");
        assert_eq!(r.errors.len(), 1, "{template}");
        assert!(
            r.errors[0].starts_with("pod shop/web-0: "),
            "{:?}",
            r.errors
        );
    }
    // A bad DNS name template: the whole entry is withheld, not set without the name.
    let d = world.run(&[(
        "bad-dns",
        json!({"spiffeIDTemplate": TEMPLATE, "dnsNameTemplates": ["{{ .PodMeta.Name }}..x"]}),
    )]);
    assert!(d.entries.is_empty());
    assert_eq!(d.reports["bad-dns"].stats.pod_entry_render_failures, 1);
}

#[test]
fn spec_errors_apply_nothing() {
    let world = World::new(vec![pod("shop", "web-0", &[])]);
    let d = world.run(&[
        ("unknown-field", json!({"spiffeIDTemplate": "spiffe://{{ .Nope }}/x"})),
        ("no-template", json!({})),
        ("bad-selector", json!({"spiffeIDTemplate": TEMPLATE, "podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}})),
    ]);
    assert!(d.entries.is_empty());
    for name in ["unknown-field", "no-template", "bad-selector"] {
        assert!(d.reports[name].spec_error.is_some(), "{name}");
    }
}

#[test]
fn identical_entries_of_two_resources_are_masked() {
    let world = World::new(vec![pod("shop", "web-0", &[])]);
    let d = world.run(&[
        ("a", json!({ "spiffeIDTemplate": TEMPLATE })),
        ("b", json!({ "spiffeIDTemplate": TEMPLATE })),
    ]);
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.reports["a"].stats.entries_to_set, 1);
    assert_eq!(d.reports["b"].stats.entries_masked, 1);
}

#[test]
fn entry_ids_are_stable_and_distinct() {
    assert_eq!(entry_id("c", "r", "u"), entry_id("c", "r", "u"));
    assert_ne!(entry_id("c", "r", "u"), entry_id("c", "r2", "u"));
    assert_ne!(entry_id("c", "ru", ""), entry_id("c", "r", "u"));
    let id = entry_id("c", "r", "u");
    crate::registration::check_entry_id(&id).unwrap();
}
