//! The `ClusterSPIFFEID` custom resource (`tessera.dev/v1alpha1`, cluster-scoped), shaped
//! after spire-controller-manager's `spire.spiffe.io/v1alpha1 ClusterSPIFFEID`, and its
//! checked form.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tessera_proto::duration::parse_duration;

use super::selector::{LabelSelector, LabelSelectorSpec, SelectorError};
use super::template::{Template, TemplateError};

/// API group of the resource.
pub const GROUP: &str = "tessera.dev";
/// API version of the resource.
pub const VERSION: &str = "v1alpha1";
/// Kind.
pub const KIND: &str = "ClusterSPIFFEID";
/// Plural resource name (the URL segment).
pub const PLURAL: &str = "clusterspiffeids";

/// `spec` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpiffeIdSpec {
    /// The SPIFFE ID template (required).
    #[serde(rename = "spiffeIDTemplate", default)]
    pub spiffe_id_template: String,
    /// Pods whose labels match (absent: every pod).
    #[serde(default)]
    pub pod_selector: Option<LabelSelectorSpec>,
    /// Namespaces whose labels match (absent: every namespace).
    #[serde(default)]
    pub namespace_selector: Option<LabelSelectorSpec>,
    /// DNS name templates (the first is the SVID's default name).
    #[serde(default)]
    pub dns_name_templates: Vec<String>,
    /// X.509-SVID TTL (Go duration, e.g. `1h`); absent: the server default.
    #[serde(default)]
    pub ttl: Option<String>,
    /// JWT-SVID TTL; absent: the server default.
    #[serde(default)]
    pub jwt_ttl: Option<String>,
    /// Federated trust domains.
    #[serde(default)]
    pub federates_with: Vec<String>,
    /// The SVID hint.
    #[serde(default)]
    pub hint: String,
    /// A fallback resource applies to a pod only when no other resource does.
    #[serde(default)]
    pub fallback: bool,
    /// Which controller serves the resource (`class_name` of `[[k8s_registration]]`).
    #[serde(default)]
    pub class_name: Option<String>,
}

/// Why a resource's spec is unusable (reported in its status; nothing of it is applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// `spec` does not have the resource's shape.
    #[error("spec: {0}")]
    Shape(String),
    /// `spiffeIDTemplate` is empty.
    #[error("spiffeIDTemplate is required")]
    MissingTemplate,
    /// A template does not parse.
    #[error("{field}: {source}")]
    Template {
        /// `spiffeIDTemplate` or `dnsNameTemplates[i]`.
        field: String,
        /// Why.
        source: TemplateError,
    },
    /// A label selector is invalid.
    #[error("{field}: {source}")]
    Selector {
        /// `podSelector` or `namespaceSelector`.
        field: &'static str,
        /// Why.
        source: SelectorError,
    },
    /// A TTL does not parse or does not fit.
    #[error("{field}: {reason}")]
    Ttl {
        /// `ttl` or `jwtTtl`.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// A checked `ClusterSPIFFEID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `metadata.name`.
    pub name: String,
    /// The SPIFFE ID template.
    pub spiffe_id: Template,
    /// The DNS name templates.
    pub dns_names: Vec<Template>,
    /// Pods matched.
    pub pod_selector: LabelSelector,
    /// Namespaces matched.
    pub namespace_selector: LabelSelector,
    /// X.509-SVID TTL in seconds (0: default).
    pub x509_svid_ttl: i32,
    /// JWT-SVID TTL in seconds (0: default).
    pub jwt_svid_ttl: i32,
    /// Federated trust domains (checked by entry validation).
    pub federates_with: Vec<String>,
    /// SVID hint.
    pub hint: String,
    /// Whether this is a fallback resource.
    pub fallback: bool,
}

fn ttl(field: &'static str, raw: Option<&str>) -> Result<i32, SpecError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(0);
    };
    let d: Duration = parse_duration(raw).map_err(|e| SpecError::Ttl {
        field,
        reason: e.to_string(),
    })?;
    i32::try_from(d.as_secs()).map_err(|_| SpecError::Ttl {
        field,
        reason: "too large".into(),
    })
}

impl Resource {
    /// Checks the `spec` (JSON) of the resource `name`.
    pub fn parse(name: &str, spec: &serde_json::Value) -> Result<Self, SpecError> {
        let spec: ClusterSpiffeIdSpec =
            serde_json::from_value(spec.clone()).map_err(|e| SpecError::Shape(e.to_string()))?;
        Self::from_spec(name, &spec)
    }

    /// Checks a parsed spec.
    pub fn from_spec(name: &str, spec: &ClusterSpiffeIdSpec) -> Result<Self, SpecError> {
        if spec.spiffe_id_template.trim().is_empty() {
            return Err(SpecError::MissingTemplate);
        }
        let spiffe_id =
            Template::parse(&spec.spiffe_id_template).map_err(|source| SpecError::Template {
                field: "spiffeIDTemplate".into(),
                source,
            })?;
        let dns_names = spec
            .dns_name_templates
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Template::parse(t).map_err(|source| SpecError::Template {
                    field: format!("dnsNameTemplates[{i}]"),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let selector = |field: &'static str, s: &Option<LabelSelectorSpec>| {
            s.as_ref()
                .map(LabelSelector::new)
                .transpose()
                .map(Option::unwrap_or_default)
                .map_err(|source| SpecError::Selector { field, source })
        };
        Ok(Self {
            name: name.to_string(),
            spiffe_id,
            dns_names,
            pod_selector: selector("podSelector", &spec.pod_selector)?,
            namespace_selector: selector("namespaceSelector", &spec.namespace_selector)?,
            x509_svid_ttl: ttl("ttl", spec.ttl.as_deref())?,
            jwt_svid_ttl: ttl("jwtTtl", spec.jwt_ttl.as_deref())?,
            federates_with: spec.federates_with.clone(),
            hint: spec.hint.clone(),
            fallback: spec.fallback,
        })
    }
}

/// `status.stats`, as spire-controller-manager reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Namespaces the namespace selector matched.
    pub namespaces_selected: u64,
    /// Matched namespaces skipped because they are in `ignore_namespaces`.
    pub namespaces_ignored: u64,
    /// Running pods selected.
    pub pods_selected: u64,
    /// Pods whose entry could not be rendered or was invalid (nothing written for them).
    pub pod_entry_render_failures: u64,
    /// Entries this resource wants.
    pub entries_to_set: u64,
    /// Entries identical (SPIFFE ID, parent, selectors) to one another resource sets.
    pub entries_masked: u64,
    /// Entries that could not be written.
    pub entry_failures: u64,
}
