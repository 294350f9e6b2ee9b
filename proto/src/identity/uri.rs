//! The string form of a SPIFFE ID: `spiffe://` + authority + path, with the rules on the scheme,
//! query, fragment and total length (SPIFFE-ID standard §2, §2.3).

use super::error::{IdError, excerpt};
use super::path::validate_path;
use super::spiffe_id::MAX_SPIFFE_ID_LEN;
use super::trust_domain::validate_trust_domain_name;

/// The only accepted prefix: the lowercase `spiffe` scheme and `://`.
pub(crate) const PREFIX: &str = "spiffe://";

/// Checks a whole SPIFFE ID; returns the byte offset where the path starts.
pub(crate) fn validate_id(s: &str) -> Result<usize, IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_SPIFFE_ID_LEN {
        return Err(IdError::TooLong {
            len: s.len(),
            max: MAX_SPIFFE_ID_LEN,
        });
    }
    let Some(rest) = s.strip_prefix(PREFIX) else {
        return Err(scheme_error(s));
    };
    let base = PREFIX.len();
    // A query or fragment ends the authority/path, so it is reported first, wherever it is.
    if let Some((i, ch)) = rest.char_indices().find(|&(_, c)| c == '?' || c == '#') {
        let offset = base + i;
        return Err(if ch == '?' {
            IdError::QueryNotAllowed { offset }
        } else {
            IdError::FragmentNotAllowed { offset }
        });
    }
    let authority_len = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at_checked(authority_len).unwrap_or((rest, ""));
    validate_trust_domain_name(authority, base)?;
    let path_start = base + authority_len;
    validate_path(path, path_start)?;
    Ok(path_start)
}

/// Distinguishes "some other scheme" from "no `scheme://` at all".
fn scheme_error(s: &str) -> IdError {
    if let Some(pos) = s.find("://") {
        let scheme = s.get(..pos).unwrap_or_default();
        let looks_like_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if looks_like_scheme {
            return IdError::WrongScheme {
                scheme: excerpt(scheme, 32),
            };
        }
    }
    IdError::MissingScheme
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::identity::{SpiffeId, TrustDomain};

    fn td(name: &str) -> TrustDomain {
        TrustDomain::new(name).unwrap()
    }

    #[test]
    fn parses_valid_ids() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, &str)] = &[
            ("spiffe://example.org", "example.org", ""),
            ("spiffe://example.org/a", "example.org", "/a"),
            ("spiffe://k8s-west.example.com/ns/staging/sa/default", "k8s-west.example.com", "/ns/staging/sa/default"),
            ("spiffe://td/.path", "td", "/.path"),
            ("spiffe://td/..path", "td", "/..path"),
            ("spiffe://td/...", "td", "/..."),
            ("spiffe://td/MixedCase_Path-1.0", "td", "/MixedCase_Path-1.0"),
            ("spiffe://192.168.1.1/x", "192.168.1.1", "/x"),
        ];
        for (input, name, path) in cases {
            let id = SpiffeId::parse(input).unwrap();
            assert_eq!(id.as_str(), *input);
            assert_eq!(id.to_string(), *input);
            assert_eq!(id.trust_domain().as_str(), *name);
            assert_eq!(id.path(), *path);
            assert!(id.is_member_of(&td(name)));
        }
    }

    #[test]
    fn rejects_each_rule() {
        #[rustfmt::skip]
        let cases: &[(&str, IdError)] = &[
            ("", IdError::Empty),
            ("example.org/a", IdError::MissingScheme),
            ("s", IdError::MissingScheme),
            ("spiffe:/", IdError::MissingScheme),
            ("spiffe:/trustdomain/path", IdError::MissingScheme),
            ("spiffe:path/element", IdError::MissingScheme),
            ("192.168.2.2:6688", IdError::MissingScheme),
            ("/a://b", IdError::MissingScheme),
            ("http://domain.test/path", IdError::WrongScheme { scheme: "http".into() }),
            ("SPIFFE://domain.test/path", IdError::WrongScheme { scheme: "SPIFFE".into() }),
            ("Spiffe://domain.test", IdError::WrongScheme { scheme: "Spiffe".into() }),
            ("spiffe://", IdError::MissingTrustDomain),
            ("spiffe:///path", IdError::MissingTrustDomain),
            ("spiffe://Domain.test/p", IdError::UppercaseTrustDomain { ch: 'D', offset: 9 }),
            ("spiffe://domain.test:8080/p", IdError::PortNotAllowed { offset: 20 }),
            ("spiffe://domain.test:/p", IdError::PortNotAllowed { offset: 20 }),
            ("spiffe://user:password@test.org/p", IdError::UserInfoNotAllowed { offset: 22 }),
            ("spiffe://%62%61%64/path", IdError::PercentEncoded { offset: 9 }),
            ("spiffe://trust$domain", IdError::BadTrustDomainChar { ch: '$', offset: 14 }),
            ("spiffe://domain.test/path?query=1", IdError::QueryNotAllowed { offset: 25 }),
            ("spiffe://domain.test?q", IdError::QueryNotAllowed { offset: 20 }),
            ("spiffe://domain.test/path#frag", IdError::FragmentNotAllowed { offset: 25 }),
            ("spiffe://domain.test/path?#frag", IdError::QueryNotAllowed { offset: 25 }),
            ("spiffe://domain.test/", IdError::TrailingSlash),
            ("spiffe://domain.test/path/", IdError::TrailingSlash),
            ("spiffe://domain.test//", IdError::EmptySegment { offset: 20 }),
            ("spiffe://domain.test//path", IdError::EmptySegment { offset: 20 }),
            ("spiffe://domain.test/a//b", IdError::EmptySegment { offset: 22 }),
            ("spiffe://domain.test/.", IdError::DotSegment { segment: ".", offset: 21 }),
            ("spiffe://domain.test/./path", IdError::DotSegment { segment: ".", offset: 21 }),
            ("spiffe://domain.test/path/./other", IdError::DotSegment { segment: ".", offset: 26 }),
            ("spiffe://domain.test/..", IdError::DotSegment { segment: "..", offset: 21 }),
            ("spiffe://domain.test/path/..", IdError::DotSegment { segment: "..", offset: 26 }),
            ("spiffe://domain.test/path/../other", IdError::DotSegment { segment: "..", offset: 26 }),
            ("spiffe://domain.test/%F0%9F%A4%AF", IdError::PercentEncoded { offset: 21 }),
            ("spiffe://domain.test/pa:th", IdError::BadPathChar { ch: ':', offset: 23 }),
            ("spiffe://domain.test/p!a$t", IdError::BadPathChar { ch: '!', offset: 22 }),
            ("spiffe://domain.test/elem[ent", IdError::BadPathChar { ch: '[', offset: 25 }),
            ("spiffe://domain.test/ü", IdError::BadPathChar { ch: 'ü', offset: 21 }),
        ];
        for (input, expected) in cases {
            assert_eq!(&SpiffeId::parse(input).unwrap_err(), expected, "{input:?}");
        }
    }

    #[test]
    fn wrong_scheme_excerpt_is_bounded() {
        let input = format!("{}://x", "a".repeat(100));
        match SpiffeId::parse(&input).unwrap_err() {
            IdError::WrongScheme { scheme } => assert_eq!(scheme.len(), 32),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn trust_domain_too_long_inside_id() {
        let name = "a".repeat(256);
        assert_eq!(
            SpiffeId::parse(&format!("spiffe://{name}/x")).unwrap_err(),
            IdError::TrustDomainTooLong { len: 256, max: 255 }
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "spiffe://\u{0}",
            "spiffe://é",
            "spiffe://a/\u{10FFFF}",
            "spiffe://a/b/\u{7f}",
            "é://x",
            "://",
            "spiffe://a/%",
            "spiffe:///",
            "spiffe:////",
        ];
        for input in inputs {
            assert!(SpiffeId::parse(input).is_err(), "{input:?}");
        }
    }
}
