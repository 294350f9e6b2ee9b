//! Kubernetes label selectors (`matchLabels` and `matchExpressions`), checked once when a
//! resource is read and matched against label maps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `metav1.LabelSelector` as written in a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorSpec {
    /// Every key must have exactly this value.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Every expression must hold.
    #[serde(default)]
    pub match_expressions: Vec<ExpressionSpec>,
}

/// One `matchExpressions` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpressionSpec {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (`In`/`NotIn` need some, `Exists`/`DoesNotExist` none).
    #[serde(default)]
    pub values: Vec<String>,
}

/// Why a selector is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// An operator other than the four.
    #[error(
        "matchExpressions[{index}]: unknown operator {operator:?} (In, NotIn, Exists, DoesNotExist)"
    )]
    UnknownOperator {
        /// Position.
        index: usize,
        /// The operator given.
        operator: String,
    },
    /// `In`/`NotIn` without values, or `Exists`/`DoesNotExist` with some.
    #[error("matchExpressions[{index}]: {operator} {requirement}")]
    Values {
        /// Position.
        index: usize,
        /// The operator.
        operator: &'static str,
        /// What it requires.
        requirement: &'static str,
    },
    /// An empty key.
    #[error("matchExpressions[{index}]: key is required")]
    EmptyKey {
        /// Position.
        index: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A checked label selector. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Checks `spec`.
    pub fn new(spec: &LabelSelectorSpec) -> Result<Self, SelectorError> {
        let mut requirements: Vec<Requirement> = spec
            .match_labels
            .iter()
            .map(|(k, v)| Requirement::In(k.clone(), vec![v.clone()]))
            .collect();
        for (index, e) in spec.match_expressions.iter().enumerate() {
            if e.key.is_empty() {
                return Err(SelectorError::EmptyKey { index });
            }
            let needs_values = |operator: &'static str| {
                if e.values.is_empty() {
                    Err(SelectorError::Values {
                        index,
                        operator,
                        requirement: "needs at least one value",
                    })
                } else {
                    Ok(e.values.clone())
                }
            };
            let no_values = |operator: &'static str| {
                if e.values.is_empty() {
                    Ok(())
                } else {
                    Err(SelectorError::Values {
                        index,
                        operator,
                        requirement: "takes no values",
                    })
                }
            };
            let key = e.key.clone();
            requirements.push(match e.operator.as_str() {
                "In" => Requirement::In(key, needs_values("In")?),
                "NotIn" => Requirement::NotIn(key, needs_values("NotIn")?),
                "Exists" => {
                    no_values("Exists")?;
                    Requirement::Exists(key)
                }
                "DoesNotExist" => {
                    no_values("DoesNotExist")?;
                    Requirement::DoesNotExist(key)
                }
                other => {
                    return Err(SelectorError::UnknownOperator {
                        index,
                        operator: other.chars().take(32).collect(),
                    });
                }
            });
        }
        Ok(Self { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::In(k, values) => labels.get(k).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(k, values) => labels.get(k).is_none_or(|v| !values.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selector(json: &str) -> Result<LabelSelector, SelectorError> {
        LabelSelector::new(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn empty_matches_everything() {
        let s = selector("{}").unwrap();
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_and_expressions_all_hold() {
        let s = selector(
            r#"{"matchLabels": {"app": "web"},
                "matchExpressions": [
                  {"key": "tier", "operator": "In", "values": ["a", "b"]},
                  {"key": "env", "operator": "NotIn", "values": ["dev"]},
                  {"key": "team", "operator": "Exists"},
                  {"key": "legacy", "operator": "DoesNotExist"}]}"#,
        )
        .unwrap();
        let ok = [("app", "web"), ("tier", "b"), ("team", "x")];
        assert!(s.matches(&labels(&ok)));
        assert!(s.matches(&labels(&[
            ("app", "web"),
            ("tier", "a"),
            ("team", ""),
            ("env", "prod")
        ])));
        assert!(!s.matches(&labels(&[("app", "db"), ("tier", "b"), ("team", "x")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "c"), ("team", "x")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "b")])));
        assert!(!s.matches(&labels(&[
            ("app", "web"),
            ("tier", "b"),
            ("team", "x"),
            ("env", "dev")
        ])));
        assert!(!s.matches(&labels(&[
            ("app", "web"),
            ("tier", "b"),
            ("team", "x"),
            ("legacy", "1")
        ])));
    }

    #[test]
    fn invalid_selectors_are_refused() {
        assert!(matches!(
            selector(
                r#"{"matchExpressions": [{"key": "a", "operator": "Like", "values": ["x"]}]}"#
            ),
            Err(SelectorError::UnknownOperator { index: 0, .. })
        ));
        assert!(matches!(
            selector(r#"{"matchExpressions": [{"key": "a", "operator": "In"}]}"#),
            Err(SelectorError::Values { .. })
        ));
        assert!(matches!(
            selector(
                r#"{"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}"#
            ),
            Err(SelectorError::Values { .. })
        ));
        assert!(matches!(
            selector(r#"{"matchExpressions": [{"key": "", "operator": "Exists"}]}"#),
            Err(SelectorError::EmptyKey { index: 0 })
        ));
    }
}
