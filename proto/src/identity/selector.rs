//! `Selector`: an attested property of a node or workload, `type:value`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::IdError;

/// Longest selector type accepted, in bytes.
pub const MAX_SELECTOR_TYPE_LEN: usize = 64;
/// Longest selector value accepted, in bytes.
pub const MAX_SELECTOR_VALUE_LEN: usize = 1024;

/// A selector such as `unix:uid:1000`, `k8s:ns:default` or `k8s:pod-label:app:web`.
///
/// The type is everything before the **first** `:` (non-empty, `a-z 0-9 _ -`, at most 64
/// bytes); the value is everything after it (non-empty, may contain `:`, no control
/// characters, at most 1024 bytes). So `k8s:pod-label:app:web` has type `k8s` and value
/// `pod-label:app:web`.
///
/// Ordering is by type, then value, so selector sets sort and dedupe predictably.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    kind: String,
    value: String,
}

impl Selector {
    /// Builds a selector from its parts, validating both. Error offsets are relative to the
    /// part they are in.
    pub fn new(kind: &str, value: &str) -> Result<Self, IdError> {
        validate_kind(kind)?;
        validate_value(value)?;
        Ok(Self {
            kind: kind.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Parses `type:value` (same as [`FromStr`]).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (kind, value) = s.split_once(':').ok_or(IdError::MissingSelectorSeparator)?;
        Self::new(kind, value)
    }

    /// The selector type, e.g. `k8s`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The selector value, e.g. `ns:default`.
    pub fn value(&self) -> &str {
        &self.value
    }
}

fn validate_kind(kind: &str) -> Result<(), IdError> {
    if kind.is_empty() {
        return Err(IdError::EmptySelectorType);
    }
    if let Some((offset, ch)) = kind
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
    {
        return Err(IdError::BadSelectorTypeChar { ch, offset });
    }
    if kind.len() > MAX_SELECTOR_TYPE_LEN {
        return Err(IdError::SelectorTypeTooLong {
            len: kind.len(),
            max: MAX_SELECTOR_TYPE_LEN,
        });
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::EmptySelectorValue);
    }
    if value.len() > MAX_SELECTOR_VALUE_LEN {
        return Err(IdError::SelectorValueTooLong {
            len: value.len(),
            max: MAX_SELECTOR_VALUE_LEN,
        });
    }
    if let Some((offset, ch)) = value.char_indices().find(|&(_, c)| c.is_control()) {
        return Err(IdError::SelectorValueControlChar { ch, offset });
    }
    Ok(())
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl FromStr for Selector {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Selector {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_before_first_colon() {
        let cases: &[(&str, &str, &str)] = &[
            ("unix:uid:1000", "unix", "uid:1000"),
            ("k8s:ns:default", "k8s", "ns:default"),
            ("k8s:pod-label:app:web", "k8s", "pod-label:app:web"),
            (
                "docker:image_id:sha256:abc",
                "docker",
                "image_id:sha256:abc",
            ),
            ("k8s_psat:cluster:demo", "k8s_psat", "cluster:demo"),
            ("join-token:x", "join-token", "x"),
            ("a:b", "a", "b"),
            ("t::", "t", ":"),
            ("t:value with spaces", "t", "value with spaces"),
            ("t:ünïcödé", "t", "ünïcödé"),
        ];
        for (input, kind, value) in cases {
            let s = Selector::parse(input).unwrap();
            assert_eq!(s.kind(), *kind);
            assert_eq!(s.value(), *value);
            assert_eq!(s.to_string(), *input, "display round-trips");
            assert_eq!(&input.parse::<Selector>().unwrap(), &s);
            assert_eq!(&Selector::new(kind, value).unwrap(), &s);
        }
    }

    #[test]
    fn rejects_each_rule() {
        #[rustfmt::skip]
        let cases: &[(&str, IdError)] = &[
            ("", IdError::MissingSelectorSeparator),
            ("unix", IdError::MissingSelectorSeparator),
            (":value", IdError::EmptySelectorType),
            ("unix:", IdError::EmptySelectorValue),
            ("Unix:uid:1", IdError::BadSelectorTypeChar { ch: 'U', offset: 0 }),
            ("un ix:uid", IdError::BadSelectorTypeChar { ch: ' ', offset: 2 }),
            ("k8s.io:x", IdError::BadSelectorTypeChar { ch: '.', offset: 3 }),
            ("ü:x", IdError::BadSelectorTypeChar { ch: 'ü', offset: 0 }),
            ("t:a\nb", IdError::SelectorValueControlChar { ch: '\n', offset: 1 }),
            ("t:\u{0}", IdError::SelectorValueControlChar { ch: '\u{0}', offset: 0 }),
            ("t:x\u{7f}", IdError::SelectorValueControlChar { ch: '\u{7f}', offset: 1 }),
            ("t:x\u{85}", IdError::SelectorValueControlChar { ch: '\u{85}', offset: 1 }),
            ("t:\tx", IdError::SelectorValueControlChar { ch: '\t', offset: 0 }),
        ];
        for (input, expected) in cases {
            assert_eq!(&Selector::parse(input).unwrap_err(), expected, "{input:?}");
        }
    }

    #[test]
    fn length_limits() {
        let kind = "k".repeat(MAX_SELECTOR_TYPE_LEN);
        assert!(Selector::new(&kind, "v").is_ok());
        assert_eq!(
            Selector::new(&format!("{kind}k"), "v").unwrap_err(),
            IdError::SelectorTypeTooLong { len: 65, max: 64 }
        );
        let value = "v".repeat(MAX_SELECTOR_VALUE_LEN);
        assert!(Selector::new("t", &value).is_ok());
        assert_eq!(
            Selector::new("t", &format!("{value}v")).unwrap_err(),
            IdError::SelectorValueTooLong {
                len: 1025,
                max: 1024
            }
        );
    }

    #[test]
    fn new_validates_parts_separately() {
        assert_eq!(
            Selector::new("", "x").unwrap_err(),
            IdError::EmptySelectorType
        );
        assert_eq!(
            Selector::new("a:b", "x").unwrap_err(),
            IdError::BadSelectorTypeChar { ch: ':', offset: 1 }
        );
        assert_eq!(
            Selector::new("t", "").unwrap_err(),
            IdError::EmptySelectorValue
        );
        assert_eq!(Selector::new("t", "a:b").unwrap().to_string(), "t:a:b");
    }

    #[test]
    fn sorts_and_dedupes() {
        let mut v: Vec<Selector> = ["unix:uid:1000", "k8s:ns:b", "k8s:ns:a", "unix:uid:1000"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        v.sort();
        v.dedup();
        let strings: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(strings, ["k8s:ns:a", "k8s:ns:b", "unix:uid:1000"]);
    }

    #[test]
    fn serde_as_string() {
        let s = Selector::parse("k8s:pod-label:app:web").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"k8s:pod-label:app:web\"");
        assert_eq!(serde_json::from_str::<Selector>(&json).unwrap(), s);
        let err = serde_json::from_str::<Selector>("\"nocolon\"").unwrap_err();
        assert!(err.to_string().contains("no ':'"), "{err}");
        assert!(serde_json::from_str::<Selector>("\"K:v\"").is_err());
        assert!(serde_json::from_str::<Selector>("[]").is_err());
        assert!(Selector::try_from("a:b").is_ok());
    }
}
