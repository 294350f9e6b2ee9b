//! `SpiffeId`: `spiffe://<trust domain><path>` (SPIFFE-ID standard §2).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::IdError;
use super::path::{validate_lone_segment, validate_path};
use super::trust_domain::TrustDomain;
use super::uri::{PREFIX, validate_id};

/// Longest SPIFFE ID accepted, in bytes (SPIFFE-ID §2.3), scheme and `://` included.
pub const MAX_SPIFFE_ID_LEN: usize = 2048;

/// A validated SPIFFE ID such as `spiffe://example.org/ns/prod/sa/web`.
///
/// Rules: the scheme is exactly `spiffe` (lowercase), followed by `://`, a valid
/// [`TrustDomain`], and a path that is empty or a sequence of `/segment` where each segment is
/// non-empty, not `.` or `..`, and made only of `A-Z a-z 0-9 . - _`. No trailing `/`, no
/// percent-encoding, no query, no fragment, at most 2048 bytes in total.
///
/// Equality, hashing and ordering are those of the string form.
#[derive(Debug, Clone)]
pub struct SpiffeId {
    id: String,
    td: TrustDomain,
    /// Byte offset in `id` where the path starts (== `id.len()` when there is no path).
    path_start: usize,
}

impl SpiffeId {
    /// Parses a SPIFFE ID (same as [`FromStr`]). Error offsets are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let path_start = validate_id(s)?;
        Ok(Self::from_validated(s.to_owned(), path_start))
    }

    /// Builds `spiffe://<td><path>` from a trust domain and a path that is empty or starts with
    /// `/` (e.g. `"/ns/prod"`). Error offsets are byte offsets into `path`.
    pub fn new(td: &TrustDomain, path: &str) -> Result<Self, IdError> {
        validate_path(path, 0)?;
        Self::assemble(td, path)
    }

    /// Builds `spiffe://<td>/<seg1>/<seg2>…`, validating each segment on its own (a segment may
    /// not contain `/`). No segments gives the trust domain's own ID. Errors are
    /// [`IdError::InvalidSegment`] naming the segment's index, or [`IdError::TooLong`].
    pub fn from_segments<S: AsRef<str>>(td: &TrustDomain, segments: &[S]) -> Result<Self, IdError> {
        let mut path = String::new();
        for (index, segment) in segments.iter().enumerate() {
            let segment = segment.as_ref();
            validate_lone_segment(segment).map_err(|source| IdError::InvalidSegment {
                index,
                source: Box::new(source),
            })?;
            path.push('/');
            path.push_str(segment);
        }
        Self::assemble(td, &path)
    }

    /// The ID of the trust domain itself, `spiffe://<td>` (no path): the SPIFFE ID carried by
    /// signing (CA) certificates.
    pub fn for_trust_domain(td: &TrustDomain) -> Self {
        let id = format!("{PREFIX}{td}");
        let path_start = id.len();
        Self {
            id,
            td: td.clone(),
            path_start,
        }
    }

    /// The trust domain this ID belongs to.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.td
    }

    /// The path: empty, or starting with `/` (e.g. `/ns/prod/sa/web`).
    pub fn path(&self) -> &str {
        self.id.get(self.path_start..).unwrap_or_default()
    }

    /// The path segments, without slashes (`["ns", "prod"]`); empty when there is no path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path().split('/').skip(1)
    }

    /// Whether this ID is in the trust domain `td`.
    pub fn is_member_of(&self, td: &TrustDomain) -> bool {
        &self.td == td
    }

    /// The full string form, `spiffe://…`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// Consumes the value and returns the full string form.
    pub fn into_string(self) -> String {
        self.id
    }

    fn assemble(td: &TrustDomain, path: &str) -> Result<Self, IdError> {
        let len = PREFIX.len() + td.as_str().len() + path.len();
        if len > MAX_SPIFFE_ID_LEN {
            return Err(IdError::TooLong {
                len,
                max: MAX_SPIFFE_ID_LEN,
            });
        }
        let id = format!("{PREFIX}{td}{path}");
        let path_start = PREFIX.len() + td.as_str().len();
        Ok(Self {
            id,
            td: td.clone(),
            path_start,
        })
    }

    /// `id` must have passed [`validate_id`], which returned `path_start`.
    fn from_validated(id: String, path_start: usize) -> Self {
        let name = id
            .get(PREFIX.len()..path_start)
            .unwrap_or_default()
            .to_owned();
        Self {
            td: TrustDomain::from_validated(name),
            id,
            path_start,
        }
    }
}

impl PartialEq for SpiffeId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for SpiffeId {}

impl Hash for SpiffeId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialOrd for SpiffeId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SpiffeId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl FromStr for SpiffeId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SpiffeId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let path_start = validate_id(&s)?;
        Ok(Self::from_validated(s, path_start))
    }
}

impl TryFrom<&str> for SpiffeId {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for SpiffeId {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

impl Serialize for SpiffeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl<'de> Deserialize<'de> for SpiffeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::try_from(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn td(name: &str) -> TrustDomain {
        TrustDomain::new(name).unwrap()
    }

    #[test]
    fn length_limit_is_2048_bytes() {
        // "spiffe://" (9) + "td" (2) + "/" + segment = 2048
        let seg = "a".repeat(MAX_SPIFFE_ID_LEN - 12);
        let ok = format!("spiffe://td/{seg}");
        assert_eq!(ok.len(), MAX_SPIFFE_ID_LEN);
        assert!(SpiffeId::parse(&ok).is_ok());
        let long = format!("{ok}b");
        assert_eq!(
            SpiffeId::parse(&long).unwrap_err(),
            IdError::TooLong {
                len: 2049,
                max: 2048
            }
        );
        // The same limit applies to the builders.
        let t = td("td");
        assert!(SpiffeId::new(&t, &format!("/{seg}")).is_ok());
        assert_eq!(
            SpiffeId::new(&t, &format!("/{seg}b")).unwrap_err(),
            IdError::TooLong {
                len: 2049,
                max: 2048
            }
        );
        assert_eq!(
            SpiffeId::from_segments(&t, &[format!("{seg}b")]).unwrap_err(),
            IdError::TooLong {
                len: 2049,
                max: 2048
            }
        );
    }

    #[test]
    fn new_takes_a_bare_path() {
        let t = td("example.org");
        let id = SpiffeId::new(&t, "/ns/prod").unwrap();
        assert_eq!(id.as_str(), "spiffe://example.org/ns/prod");
        assert_eq!(SpiffeId::new(&t, "").unwrap(), t.spiffe_id());
        assert_eq!(
            SpiffeId::new(&t, "ns").unwrap_err(),
            IdError::PathMissingLeadingSlash
        );
        assert_eq!(
            SpiffeId::new(&t, "/ns/").unwrap_err(),
            IdError::TrailingSlash
        );
        assert_eq!(
            SpiffeId::new(&t, "/a/$").unwrap_err(),
            IdError::BadPathChar { ch: '$', offset: 3 }
        );
    }

    #[test]
    fn from_segments_validates_each_segment() {
        let t = td("example.org");
        let id = SpiffeId::from_segments(&t, &["a", "b"]).unwrap();
        assert_eq!(id.as_str(), "spiffe://example.org/a/b");
        assert_eq!(id.segments().collect::<Vec<_>>(), ["a", "b"]);
        let none: [&str; 0] = [];
        let root = SpiffeId::from_segments(&t, &none).unwrap();
        assert_eq!(root, SpiffeId::for_trust_domain(&t));
        assert_eq!(root.segments().count(), 0);

        #[rustfmt::skip]
        let cases: &[(&[&str], usize, IdError)] = &[
            (&[""], 0, IdError::EmptySegment { offset: 0 }),
            (&["a", ""], 1, IdError::EmptySegment { offset: 0 }),
            (&["/"], 0, IdError::BadPathChar { ch: '/', offset: 0 }),
            (&["ok", "/foo"], 1, IdError::BadPathChar { ch: '/', offset: 0 }),
            (&["$"], 0, IdError::BadPathChar { ch: '$', offset: 0 }),
            (&["."], 0, IdError::DotSegment { segment: ".", offset: 0 }),
            (&["a", "b", ".."], 2, IdError::DotSegment { segment: "..", offset: 0 }),
            (&["a%2F"], 0, IdError::PercentEncoded { offset: 1 }),
        ];
        for (segments, index, inner) in cases {
            let err = SpiffeId::from_segments(&t, segments).unwrap_err();
            assert_eq!(
                err,
                IdError::InvalidSegment {
                    index: *index,
                    source: Box::new(inner.clone())
                },
                "{segments:?}"
            );
        }
    }

    #[test]
    fn for_trust_domain_has_no_path() {
        let t = td("example.org");
        let id = SpiffeId::for_trust_domain(&t);
        assert_eq!(id.as_str(), "spiffe://example.org");
        assert_eq!(id.path(), "");
        assert_eq!(id.trust_domain(), &t);
        assert_eq!(id, SpiffeId::parse("spiffe://example.org").unwrap());
    }

    #[test]
    fn membership_is_exact() {
        let id = SpiffeId::parse("spiffe://domain.test/path").unwrap();
        assert!(id.is_member_of(&td("domain.test")));
        assert!(!id.is_member_of(&td("other.domain.test")));
        assert!(!id.is_member_of(&td("test")));
    }

    #[test]
    fn path_is_case_sensitive() {
        let a = SpiffeId::parse("spiffe://example.org/workload").unwrap();
        let b = SpiffeId::parse("spiffe://example.org/WORKLOAD").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn ordering_and_dedup_follow_string_form() {
        let ids: BTreeSet<SpiffeId> = [
            "spiffe://b.org/x",
            "spiffe://a.org/y",
            "spiffe://a.org/x",
            "spiffe://a.org/x",
        ]
        .iter()
        .map(|s| SpiffeId::parse(s).unwrap())
        .collect();
        let strings: Vec<&str> = ids.iter().map(SpiffeId::as_str).collect();
        assert_eq!(
            strings,
            ["spiffe://a.org/x", "spiffe://a.org/y", "spiffe://b.org/x"]
        );
    }

    #[test]
    fn conversions_and_serde() {
        let id: SpiffeId = "spiffe://example.org/a".parse().unwrap();
        assert_eq!(SpiffeId::try_from("spiffe://example.org/a").unwrap(), id);
        assert_eq!(
            SpiffeId::try_from(String::from("spiffe://example.org/a")).unwrap(),
            id
        );
        assert!(SpiffeId::try_from(String::from("spiffe://example.org/a/")).is_err());
        assert_eq!(id.as_ref(), "spiffe://example.org/a");

        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"spiffe://example.org/a\"");
        let back: SpiffeId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.trust_domain().as_str(), "example.org");
        assert_eq!(back.path(), "/a");
        assert_eq!(back.clone().into_string(), "spiffe://example.org/a");

        let err = serde_json::from_str::<SpiffeId>("\"spiffe://example.org/a/\"").unwrap_err();
        assert!(err.to_string().contains("must not end with '/'"), "{err}");
        assert!(serde_json::from_str::<SpiffeId>("17").is_err());
    }
}
