#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use super::*;

fn labels() -> BTreeMap<String, String> {
    [("app", "web"), ("app.kubernetes.io/name", "shop")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn render(source: &str) -> Result<String, RenderError> {
    let l = labels();
    let cx = RenderContext {
        trust_domain: "example.org",
        cluster_name: "prod",
        cluster_domain: "cluster.local",
        pod_name: "web-0",
        pod_namespace: "shop",
        pod_uid: "1234",
        pod_labels: Some(&l),
        service_account: "web-sa",
        node_name: "node-1",
        node_uid: "n-uid",
        ..RenderContext::default()
    };
    Template::parse(source).unwrap().render(&cx)
}

#[test]
fn spire_controller_manager_default_template() {
    assert_eq!(
        render("spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}")
            .unwrap(),
        "spiffe://example.org/ns/shop/sa/web-sa"
    );
}

#[test]
fn every_scalar_and_both_label_forms() {
    assert_eq!(
        render("{{.ClusterName}}/{{ .PodMeta.Name }}/{{ .PodMeta.UID }}/{{ .PodSpec.NodeName }}/{{ .NodeMeta.UID }}/{{ .NodeMeta.Name }}/{{ .ClusterDomain }}")
            .unwrap(),
        "prod/web-0/1234/node-1/n-uid/node-1/cluster.local"
    );
    assert_eq!(render("{{ .PodMeta.Labels.app }}").unwrap(), "web");
    assert_eq!(
        render(r#"{{ index .PodMeta.Labels "app.kubernetes.io/name" }}"#).unwrap(),
        "shop"
    );
}

#[test]
fn trim_markers() {
    assert_eq!(render("a  {{- .PodMeta.Name -}}  b").unwrap(), "aweb-0b");
}

#[test]
fn missing_label_is_a_render_error() {
    assert_eq!(
        render("{{ .PodMeta.Labels.tier }}"),
        Err(RenderError::MissingKey {
            map: "PodMeta.Labels",
            key: "tier".into()
        })
    );
}

#[test]
fn strict_parse_errors() {
    let err = |s: &str| Template::parse(s).unwrap_err();
    assert!(matches!(
        err("{{ .Nope }}"),
        TemplateError::UnknownField { at: 0, .. }
    ));
    assert!(matches!(
        err("x{{ .PodMeta.Nope }}"),
        TemplateError::UnknownField { at: 1, .. }
    ));
    assert!(matches!(
        err("{{ .PodMeta.Name"),
        TemplateError::Unclosed { .. }
    ));
    assert!(matches!(err("a }} b"), TemplateError::StrayClose { at: 2 }));
    assert!(matches!(
        err("{{ .PodMeta.Labels }}"),
        TemplateError::MapWithoutKey { .. }
    ));
    assert!(matches!(
        err("{{ printf \"%s\" .X }}"),
        TemplateError::Unsupported { .. }
    ));
    assert!(matches!(
        err("{{ index .PodMeta.Name \"x\" }}"),
        TemplateError::Unsupported { .. }
    ));
    assert!(matches!(
        err("{{ index .PodMeta.Labels x }}"),
        TemplateError::Unsupported { .. }
    ));
    assert!(matches!(
        err("{{ .PodMeta.Name | lower }}"),
        TemplateError::Unsupported { .. }
    ));
    assert!(matches!(
        err(&"a".repeat(3000)),
        TemplateError::TooLong { .. }
    ));
    assert!(matches!(
        err("{{ indexx .PodMeta.Labels \"a\" }}"),
        TemplateError::Unsupported { .. }
    ));
}

#[test]
fn literal_text_passes_through() {
    assert_eq!(render("spiffe://td/static").unwrap(), "spiffe://td/static");
    assert_eq!(render("").unwrap(), "");
}
