//! SPIFFE ID and DNS name templates: the subset of Go's `text/template` that
//! spire-controller-manager's `ClusterSPIFFEID` exposes, parsed once, strictly.
//!
//! A template is literal text with actions `{{ PIPELINE }}` (`{{-` / `-}}` trim the
//! whitespace beside them). A pipeline is a field `.A.B` or `index .A.B "key"`. Fields:
//! `.TrustDomain`, `.ClusterName`, `.ClusterDomain`, `.PodMeta.{Name,Namespace,UID}`,
//! `.PodMeta.Labels.<key>`, `.PodMeta.Annotations.<key>`, `.PodSpec.{ServiceAccountName,
//! NodeName,Hostname,Subdomain}`, `.NodeMeta.{Name,UID}`, `.NodeMeta.Labels.<key>`,
//! `.NodeMeta.Annotations.<key>`. Anything else is a [`TemplateError`].

use std::collections::BTreeMap;

/// Longest template accepted, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 2048;

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template is longer than [`MAX_TEMPLATE_LEN`].
    #[error("{len} bytes, at most {MAX_TEMPLATE_LEN} allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// `{{` without a matching `}}`.
    #[error("byte {at}: unclosed action (no matching \"}}}}\")")]
    Unclosed {
        /// Offset of the `{{`.
        at: usize,
    },
    /// `}}` outside an action.
    #[error("byte {at}: unexpected \"}}}}\"")]
    StrayClose {
        /// Offset of the `}}`.
        at: usize,
    },
    /// An action that is neither a field nor `index FIELD "key"`.
    #[error("byte {at}: unsupported action {action:?} (use .Field or index .Field \"key\")")]
    Unsupported {
        /// Offset of the action.
        at: usize,
        /// The action's text.
        action: String,
    },
    /// A field that does not exist.
    #[error("byte {at}: unknown field {field:?}")]
    UnknownField {
        /// Offset of the action.
        at: usize,
        /// The field as written.
        field: String,
    },
    /// A map field used without a key.
    #[error("byte {at}: {field} is a map; name a key (.{field}.key or index .{field} \"key\")")]
    MapWithoutKey {
        /// Offset of the action.
        at: usize,
        /// The map field.
        field: String,
    },
}

/// Why a parsed template could not be rendered for one pod.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A label or annotation the template names is absent.
    #[error("{map} has no key {key:?}")]
    MissingKey {
        /// E.g. `PodMeta.Labels`.
        map: &'static str,
        /// The key.
        key: String,
    },
}

/// A string field of the render context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    TrustDomain,
    ClusterName,
    ClusterDomain,
    PodName,
    PodNamespace,
    PodUid,
    PodServiceAccount,
    PodNodeName,
    PodHostname,
    PodSubdomain,
    NodeName,
    NodeUid,
}

/// A map field of the render context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapField {
    PodLabels,
    PodAnnotations,
    NodeLabels,
    NodeAnnotations,
}

impl MapField {
    fn name(self) -> &'static str {
        match self {
            Self::PodLabels => "PodMeta.Labels",
            Self::PodAnnotations => "PodMeta.Annotations",
            Self::NodeLabels => "NodeMeta.Labels",
            Self::NodeAnnotations => "NodeMeta.Annotations",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Scalar(Scalar),
    Key(MapField, String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a template is rendered against: one pod on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderContext<'a> {
    /// `.TrustDomain`.
    pub trust_domain: &'a str,
    /// `.ClusterName`.
    pub cluster_name: &'a str,
    /// `.ClusterDomain`.
    pub cluster_domain: &'a str,
    /// `.PodMeta.Name`.
    pub pod_name: &'a str,
    /// `.PodMeta.Namespace`.
    pub pod_namespace: &'a str,
    /// `.PodMeta.UID`.
    pub pod_uid: &'a str,
    /// `.PodMeta.Labels`.
    pub pod_labels: Option<&'a BTreeMap<String, String>>,
    /// `.PodMeta.Annotations`.
    pub pod_annotations: Option<&'a BTreeMap<String, String>>,
    /// `.PodSpec.ServiceAccountName`.
    pub service_account: &'a str,
    /// `.PodSpec.NodeName`.
    pub node_name: &'a str,
    /// `.PodSpec.Hostname`.
    pub hostname: &'a str,
    /// `.PodSpec.Subdomain`.
    pub subdomain: &'a str,
    /// `.NodeMeta.UID`.
    pub node_uid: &'a str,
    /// `.NodeMeta.Labels`.
    pub node_labels: Option<&'a BTreeMap<String, String>>,
    /// `.NodeMeta.Annotations`.
    pub node_annotations: Option<&'a BTreeMap<String, String>>,
}

enum Field {
    Scalar(Scalar),
    Map(MapField),
}

fn field(path: &str) -> Option<Field> {
    use Scalar as S;
    let f = match path {
        ".TrustDomain" => Field::Scalar(S::TrustDomain),
        ".ClusterName" => Field::Scalar(S::ClusterName),
        ".ClusterDomain" => Field::Scalar(S::ClusterDomain),
        ".PodMeta.Name" => Field::Scalar(S::PodName),
        ".PodMeta.Namespace" => Field::Scalar(S::PodNamespace),
        ".PodMeta.UID" => Field::Scalar(S::PodUid),
        ".PodMeta.Labels" => Field::Map(MapField::PodLabels),
        ".PodMeta.Annotations" => Field::Map(MapField::PodAnnotations),
        ".PodSpec.ServiceAccountName" => Field::Scalar(S::PodServiceAccount),
        ".PodSpec.NodeName" => Field::Scalar(S::PodNodeName),
        ".PodSpec.Hostname" => Field::Scalar(S::PodHostname),
        ".PodSpec.Subdomain" => Field::Scalar(S::PodSubdomain),
        ".NodeMeta.Name" => Field::Scalar(S::NodeName),
        ".NodeMeta.UID" => Field::Scalar(S::NodeUid),
        ".NodeMeta.Labels" => Field::Map(MapField::NodeLabels),
        ".NodeMeta.Annotations" => Field::Map(MapField::NodeAnnotations),
        _ => return None,
    };
    Some(f)
}

/// `.A.B.key`: a map field followed by one identifier key.
fn map_dot_key(path: &str) -> Option<(MapField, String)> {
    let (map, key) = path.rsplit_once('.')?;
    match field(map)? {
        Field::Map(m)
            if !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !key.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            Some((m, key.to_string()))
        }
        _ => None,
    }
}

/// A Go double-quoted string literal with the escapes `\\` and `\"` (others refused).
fn quoted(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                c @ ('\\' | '"') => out.push(c),
                _ => return None,
            },
            '"' => return None,
            c if c.is_control() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn action(text: &str, at: usize) -> Result<Part, TemplateError> {
    let unsupported = || TemplateError::Unsupported {
        at,
        action: text.chars().take(64).collect(),
    };
    let unknown = |f: &str| TemplateError::UnknownField {
        at,
        field: f.chars().take(64).collect(),
    };
    if let Some(rest) = text.strip_prefix("index") {
        let rest = rest.trim_start();
        if rest.len() == text.len() - "index".len() {
            // `indexFoo`: not the index function.
            return Err(unsupported());
        }
        let (path, key) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(unsupported)?;
        if !path.starts_with('.') {
            return Err(unsupported());
        }
        let key = quoted(key.trim()).ok_or_else(unsupported)?;
        return match field(path) {
            Some(Field::Map(m)) => Ok(Part::Key(m, key)),
            Some(Field::Scalar(_)) => Err(unsupported()),
            None => Err(unknown(path)),
        };
    }
    if !text.starts_with('.') || text.contains(char::is_whitespace) {
        return Err(unsupported());
    }
    match field(text) {
        Some(Field::Scalar(s)) => Ok(Part::Scalar(s)),
        Some(Field::Map(m)) => Err(TemplateError::MapWithoutKey {
            at,
            field: m.name().into(),
        }),
        None => match map_dot_key(text) {
            Some((m, key)) => Ok(Part::Key(m, key)),
            None => Err(unknown(text)),
        },
    }
}

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.len() > MAX_TEMPLATE_LEN {
            return Err(TemplateError::TooLong { len: source.len() });
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        let mut trim_next = false;
        loop {
            let open = rest.find("{{");
            let text_end = open.unwrap_or(rest.len());
            let mut text = &rest[..text_end];
            if let Some(close) = text.find("}}") {
                return Err(TemplateError::StrayClose { at: offset + close });
            }
            if trim_next {
                text = text.trim_start();
            }
            let Some(open) = open else {
                if !text.is_empty() {
                    parts.push(Part::Text(text.to_string()));
                }
                break;
            };
            let inner_start = open + 2;
            let after = &rest[inner_start..];
            let close = after
                .find("}}")
                .ok_or(TemplateError::Unclosed { at: offset + open })?;
            let mut inner = &after[..close];
            if let Some(stripped) = inner.strip_prefix("- ") {
                text = text.trim_end();
                inner = stripped;
            }
            trim_next = false;
            if let Some(stripped) = inner.strip_suffix(" -") {
                trim_next = true;
                inner = stripped;
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            parts.push(action(inner.trim(), offset + open)?);
            let consumed = inner_start + close + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        Ok(Self { parts })
    }

    /// Renders the template for one pod.
    pub fn render(&self, cx: &RenderContext<'_>) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Scalar(s) => out.push_str(match s {
                    Scalar::TrustDomain => cx.trust_domain,
                    Scalar::ClusterName => cx.cluster_name,
                    Scalar::ClusterDomain => cx.cluster_domain,
                    Scalar::PodName => cx.pod_name,
                    Scalar::PodNamespace => cx.pod_namespace,
                    Scalar::PodUid => cx.pod_uid,
                    Scalar::PodServiceAccount => cx.service_account,
                    Scalar::PodNodeName => cx.node_name,
                    Scalar::PodHostname => cx.hostname,
                    Scalar::PodSubdomain => cx.subdomain,
                    Scalar::NodeName => cx.node_name,
                    Scalar::NodeUid => cx.node_uid,
                }),
                Part::Key(map, key) => {
                    let m = match map {
                        MapField::PodLabels => cx.pod_labels,
                        MapField::PodAnnotations => cx.pod_annotations,
                        MapField::NodeLabels => cx.node_labels,
                        MapField::NodeAnnotations => cx.node_annotations,
                    };
                    let value =
                        m.and_then(|m| m.get(key))
                            .ok_or_else(|| RenderError::MissingKey {
                                map: map.name(),
                                key: key.clone(),
                            })?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
