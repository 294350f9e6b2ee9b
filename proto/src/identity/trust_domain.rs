//! `TrustDomain`: the authority part of a SPIFFE ID (SPIFFE-ID standard §2.1).

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::IdError;
use super::spiffe_id::SpiffeId;

/// Longest trust domain name accepted, in bytes (the RFC 3986 limit for a URI host).
pub const MAX_TRUST_DOMAIN_LEN: usize = 255;

/// A validated SPIFFE trust domain name such as `example.org`.
///
/// Rules (SPIFFE-ID §2.1): non-empty, at most 255 bytes, only lowercase `a-z`, digits, `.`, `-`
/// and `_`; no port, no userinfo, no percent-encoding. Uppercase is rejected, not folded.
///
/// `Display` and serde use the bare name (`example.org`); [`TrustDomain::id_string`] gives the
/// `spiffe://example.org` form used as the key of bundle maps on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustDomain(String);

impl TrustDomain {
    /// Parses a bare trust domain name (`example.org`).
    ///
    /// A `spiffe://…` form is rejected with [`IdError::SchemeInTrustDomainName`]; use
    /// [`TrustDomain::from_id_or_name`] to accept both.
    pub fn new(name: &str) -> Result<Self, IdError> {
        if name.contains("://") {
            return Err(IdError::SchemeInTrustDomainName);
        }
        validate_trust_domain_name(name, 0)?;
        Ok(Self(name.to_owned()))
    }

    /// Parses either a bare name (`example.org`) or a SPIFFE ID (`spiffe://example.org`, or
    /// `spiffe://example.org/some/path`, which must be a valid SPIFFE ID as a whole) and returns
    /// its trust domain.
    pub fn from_id_or_name(s: &str) -> Result<Self, IdError> {
        if s.contains(":/") {
            let id = SpiffeId::from_str(s)?;
            Ok(id.trust_domain().clone())
        } else {
            Self::new(s)
        }
    }

    /// The bare name, e.g. `example.org`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SPIFFE ID form, `spiffe://example.org`: the key of the Workload API bundle maps.
    pub fn id_string(&self) -> String {
        format!("spiffe://{}", self.0)
    }

    /// The SPIFFE ID of this trust domain without a path (the ID of its signing authorities).
    pub fn spiffe_id(&self) -> SpiffeId {
        SpiffeId::for_trust_domain(self)
    }

    /// Consumes the value and returns the bare name.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Wraps a name the caller has already checked with [`validate_trust_domain_name`].
    pub(crate) fn from_validated(name: String) -> Self {
        Self(name)
    }
}

/// Validates a trust domain name found at byte `base` of the text being parsed; offsets in
/// errors are `base + position`.
pub(crate) fn validate_trust_domain_name(name: &str, base: usize) -> Result<(), IdError> {
    if name.is_empty() {
        return Err(IdError::MissingTrustDomain);
    }
    // Userinfo is reported first: `user:pass@host` is about userinfo, not a port.
    if let Some(at) = name.find('@') {
        return Err(IdError::UserInfoNotAllowed { offset: base + at });
    }
    for (i, ch) in name.char_indices() {
        let offset = base + i;
        match ch {
            'a'..='z' | '0'..='9' | '.' | '-' | '_' => {}
            ':' => return Err(IdError::PortNotAllowed { offset }),
            '%' => return Err(IdError::PercentEncoded { offset }),
            'A'..='Z' => return Err(IdError::UppercaseTrustDomain { ch, offset }),
            _ => return Err(IdError::BadTrustDomainChar { ch, offset }),
        }
    }
    if name.len() > MAX_TRUST_DOMAIN_LEN {
        return Err(IdError::TrustDomainTooLong {
            len: name.len(),
            max: MAX_TRUST_DOMAIN_LEN,
        });
    }
    Ok(())
}

impl fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TrustDomain {
    type Err = IdError;

    /// Same as [`TrustDomain::new`]: the bare name only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for TrustDomain {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for TrustDomain {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.contains("://") {
            return Err(IdError::SchemeInTrustDomainName);
        }
        validate_trust_domain_name(&s, 0)?;
        Ok(Self(s))
    }
}

impl AsRef<str> for TrustDomain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for TrustDomain {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for TrustDomain {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TrustDomain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::try_from(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    fn is_td_char(c: char) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
    }

    #[test]
    fn accepts_valid_names() {
        for name in [
            "example.org",
            "a",
            "trust_domain-1.example",
            "192.168.1.1",
            "...",
            "-",
            "_",
            "0",
        ] {
            let td = TrustDomain::new(name).unwrap();
            assert_eq!(td.as_str(), name);
            assert_eq!(td.to_string(), name);
            assert_eq!(td.id_string(), format!("spiffe://{name}"));
        }
    }

    #[test]
    fn every_char_below_256_is_accepted_or_rejected_correctly() {
        for i in 0u32..256 {
            let c = char::from_u32(i).unwrap();
            let name = format!("trustdomain{c}");
            let got = TrustDomain::new(&name);
            if is_td_char(c) {
                assert_eq!(got.unwrap().as_str(), name);
                // and inside a SPIFFE ID as well
                let td = TrustDomain::from_id_or_name(&format!("spiffe://{name}")).unwrap();
                assert_eq!(td.as_str(), name);
            } else {
                let err = got.unwrap_err();
                let expected = match c {
                    ':' => IdError::PortNotAllowed { offset: 11 },
                    '@' => IdError::UserInfoNotAllowed { offset: 11 },
                    '%' => IdError::PercentEncoded { offset: 11 },
                    'A'..='Z' => IdError::UppercaseTrustDomain { ch: c, offset: 11 },
                    _ => IdError::BadTrustDomainChar { ch: c, offset: 11 },
                };
                assert_eq!(err, expected, "char {i:#x}");
            }
        }
    }

    #[test]
    fn rejects_each_rule() {
        #[rustfmt::skip]
        let cases: &[(&str, IdError)] = &[
            ("", IdError::MissingTrustDomain),
            ("Example.org", IdError::UppercaseTrustDomain { ch: 'E', offset: 0 }),
            ("example.org:8080", IdError::PortNotAllowed { offset: 11 }),
            ("example.org:", IdError::PortNotAllowed { offset: 11 }),
            ("user:pw@example.org", IdError::UserInfoNotAllowed { offset: 7 }),
            ("user@example.org", IdError::UserInfoNotAllowed { offset: 4 }),
            ("%62ad", IdError::PercentEncoded { offset: 0 }),
            ("ex ample", IdError::BadTrustDomainChar { ch: ' ', offset: 2 }),
            ("example.org/path", IdError::BadTrustDomainChar { ch: '/', offset: 11 }),
            ("[::1]", IdError::BadTrustDomainChar { ch: '[', offset: 0 }),
            ("exämple", IdError::BadTrustDomainChar { ch: 'ä', offset: 2 }),
            ("spiffe://example.org", IdError::SchemeInTrustDomainName),
        ];
        for (input, expected) in cases {
            assert_eq!(&TrustDomain::new(input).unwrap_err(), expected, "{input:?}");
        }
    }

    #[test]
    fn length_limit_is_255_bytes() {
        let ok = "a".repeat(MAX_TRUST_DOMAIN_LEN);
        assert!(TrustDomain::new(&ok).is_ok());
        let long = "a".repeat(MAX_TRUST_DOMAIN_LEN + 1);
        assert_eq!(
            TrustDomain::new(&long).unwrap_err(),
            IdError::TrustDomainTooLong { len: 256, max: 255 }
        );
    }

    #[test]
    fn from_id_or_name_accepts_both_forms() {
        let expected = TrustDomain::new("example.org").unwrap();
        for s in [
            "example.org",
            "spiffe://example.org",
            "spiffe://example.org/path/x",
        ] {
            assert_eq!(TrustDomain::from_id_or_name(s).unwrap(), expected, "{s}");
        }
    }

    #[test]
    fn from_id_or_name_rejects_bad_ids() {
        #[rustfmt::skip]
        let cases: &[(&str, IdError)] = &[
            ("spiffe://", IdError::MissingTrustDomain),
            ("spiffe:///path", IdError::MissingTrustDomain),
            ("spiffe:/example.org", IdError::MissingScheme),
            ("spiffe://example.org/", IdError::TrailingSlash),
            ("spiffe://example.org/path/", IdError::TrailingSlash),
            ("http://example.org", IdError::WrongScheme { scheme: "http".into() }),
            ("spiffe://%F0%9F%A4%AF/path", IdError::PercentEncoded { offset: 9 }),
            ("spiffe://example.org/%F0", IdError::PercentEncoded { offset: 21 }),
            ("", IdError::MissingTrustDomain),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &TrustDomain::from_id_or_name(input).unwrap_err(),
                expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn from_str_and_try_from_agree_with_new() {
        assert_eq!(
            "example.org".parse::<TrustDomain>().unwrap(),
            TrustDomain::new("example.org").unwrap()
        );
        assert!("Example.org".parse::<TrustDomain>().is_err());
        assert!(TrustDomain::try_from("example.org").is_ok());
        assert!(TrustDomain::try_from(String::from("example.org")).is_ok());
        assert_eq!(
            TrustDomain::try_from(String::from("spiffe://example.org")).unwrap_err(),
            IdError::SchemeInTrustDomainName
        );
        assert_eq!(
            TrustDomain::try_from(String::from("a b")).unwrap_err(),
            IdError::BadTrustDomainChar { ch: ' ', offset: 1 }
        );
    }

    #[test]
    fn spiffe_id_has_no_path() {
        let td = TrustDomain::new("example.org").unwrap();
        let id = td.spiffe_id();
        assert_eq!(id.as_str(), "spiffe://example.org");
        assert_eq!(id.path(), "");
        assert_eq!(id.trust_domain(), &td);
        assert_eq!(td.clone().into_string(), "example.org");
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let td = TrustDomain::new("example.org").unwrap();
        let json = serde_json::to_string(&td).unwrap();
        assert_eq!(json, "\"example.org\"");
        let back: TrustDomain = serde_json::from_str(&json).unwrap();
        assert_eq!(back, td);

        for bad in ["\"\"", "\"BAD\"", "\"spiffe://example.org\"", "42"] {
            assert!(serde_json::from_str::<TrustDomain>(bad).is_err(), "{bad}");
        }
        let err = serde_json::from_str::<TrustDomain>("\"BAD\"").unwrap_err();
        assert!(err.to_string().contains("lowercase"), "{err}");
    }

    #[test]
    fn ordering_hashing_and_borrow() {
        let a = TrustDomain::new("a.org").unwrap();
        let b = TrustDomain::new("b.org").unwrap();
        assert!(a < b);
        let set: BTreeSet<_> = [b.clone(), a.clone(), b.clone()].into_iter().collect();
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![a.clone(), b]);

        let mut map = HashMap::new();
        map.insert(a.clone(), 1);
        assert_eq!(map.get("a.org"), Some(&1));
        assert_eq!(a.as_ref(), "a.org");
    }
}
