//! The one error type for parsing and building identity values.
//!
//! Every variant names what is wrong and, where it helps, where: `offset` is always a **byte
//! offset** into the text that was being validated (documented per variant). Messages never echo
//! more than a short excerpt of the input.

use thiserror::Error;

/// Why a [`TrustDomain`](super::TrustDomain), [`SpiffeId`](super::SpiffeId) or
/// [`Selector`](super::Selector) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    // ---- whole SPIFFE ID -------------------------------------------------------------------
    /// The SPIFFE ID text is empty.
    #[error("SPIFFE ID is empty")]
    Empty,

    /// The text does not start with `spiffe://` and has no recognisable `<scheme>://` prefix
    /// (for example `example.org/a`, `spiffe:/a` or `spiffe:a`).
    #[error("SPIFFE ID must start with \"spiffe://\"")]
    MissingScheme,

    /// The text has a `<scheme>://` prefix but the scheme is not exactly the lowercase `spiffe`
    /// (for example `http://…` or `SPIFFE://…`). `scheme` is what was found (at most 32 bytes).
    #[error("SPIFFE ID scheme must be exactly \"spiffe\" (lowercase), found {scheme:?}")]
    WrongScheme {
        /// The scheme that was found (truncated to 32 bytes).
        scheme: String,
    },

    /// The whole SPIFFE ID is longer than the 2048 bytes the SPIFFE ID standard allows.
    #[error("SPIFFE ID is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// Length of the (would-be) SPIFFE ID in bytes.
        len: usize,
        /// The limit, [`MAX_SPIFFE_ID_LEN`](super::MAX_SPIFFE_ID_LEN).
        max: usize,
    },

    // ---- trust domain ----------------------------------------------------------------------
    /// The trust domain name is empty (`""`, `spiffe://` or `spiffe:///path`).
    #[error("trust domain is missing")]
    MissingTrustDomain,

    /// The trust domain name is longer than the 255 bytes allowed for a URI host.
    #[error("trust domain is {len} bytes long, the maximum is {max}")]
    TrustDomainTooLong {
        /// Length of the trust domain name in bytes.
        len: usize,
        /// The limit, [`MAX_TRUST_DOMAIN_LEN`](super::MAX_TRUST_DOMAIN_LEN).
        max: usize,
    },

    /// A character outside `a-z 0-9 . - _` in the trust domain name. `offset` is the byte
    /// offset in the text being parsed (the whole ID, or the bare name for
    /// [`TrustDomain::new`](super::TrustDomain::new)).
    #[error(
        "trust domain character {ch:?} at byte {offset} is not allowed: only lowercase letters, digits, '.', '-' and '_' are"
    )]
    BadTrustDomainChar {
        /// The offending character.
        ch: char,
        /// Byte offset of `ch` in the parsed text.
        offset: usize,
    },

    /// An uppercase ASCII letter in the trust domain name: trust domains must be lowercase.
    #[error("trust domain must be lowercase: {ch:?} at byte {offset}")]
    UppercaseTrustDomain {
        /// The uppercase letter.
        ch: char,
        /// Byte offset of `ch` in the parsed text.
        offset: usize,
    },

    /// A `:` in the authority: a port (even an empty one) is not allowed in a trust domain.
    #[error("a port is not allowed in a trust domain (':' at byte {offset})")]
    PortNotAllowed {
        /// Byte offset of the `:` in the parsed text.
        offset: usize,
    },

    /// An `@` in the authority: userinfo is not allowed in a trust domain.
    #[error("userinfo is not allowed in a trust domain ('@' at byte {offset})")]
    UserInfoNotAllowed {
        /// Byte offset of the `@` in the parsed text.
        offset: usize,
    },

    /// [`TrustDomain::new`](super::TrustDomain::new) was given a `scheme://` form; use
    /// [`TrustDomain::from_id_or_name`](super::TrustDomain::from_id_or_name) for that.
    #[error(
        "a trust domain name has no scheme; pass \"example.org\", or use from_id_or_name for \"spiffe://example.org\""
    )]
    SchemeInTrustDomainName,

    // ---- URI components --------------------------------------------------------------------
    /// A `?` (query component) in the SPIFFE ID.
    #[error("a query is not allowed in a SPIFFE ID ('?' at byte {offset})")]
    QueryNotAllowed {
        /// Byte offset of the `?` in the parsed text.
        offset: usize,
    },

    /// A `#` (fragment component) in the SPIFFE ID.
    #[error("a fragment is not allowed in a SPIFFE ID ('#' at byte {offset})")]
    FragmentNotAllowed {
        /// Byte offset of the `#` in the parsed text.
        offset: usize,
    },

    /// A `%` (percent-encoding) in the trust domain or path; SPIFFE IDs carry no
    /// percent-encoded characters.
    #[error("percent-encoding is not allowed in a SPIFFE ID ('%' at byte {offset})")]
    PercentEncoded {
        /// Byte offset of the `%` in the parsed text.
        offset: usize,
    },

    // ---- path ------------------------------------------------------------------------------
    /// A non-empty path that does not start with `/` (only reachable through
    /// [`SpiffeId::new`](super::SpiffeId::new), which takes a bare path).
    #[error("a SPIFFE ID path must be empty or start with '/'")]
    PathMissingLeadingSlash,

    /// An empty path segment (`//` in a path, or `""` given as a segment). `offset` is the byte
    /// offset of the `/` that opens it (0 for a segment given on its own).
    #[error("empty path segment at byte {offset}")]
    EmptySegment {
        /// Byte offset of the `/` that opens the empty segment.
        offset: usize,
    },

    /// A `.` or `..` path segment. `offset` is the byte offset of the first dot.
    #[error("path segment {segment:?} at byte {offset} is not allowed (no '.' or '..' segments)")]
    DotSegment {
        /// `"."` or `".."`.
        segment: &'static str,
        /// Byte offset of the segment's first character.
        offset: usize,
    },

    /// The path ends with `/` (including a path that is just `/`).
    #[error("a SPIFFE ID path must not end with '/'")]
    TrailingSlash,

    /// A character outside `A-Z a-z 0-9 . - _` in a path segment.
    #[error(
        "path character {ch:?} at byte {offset} is not allowed: only letters, digits, '.', '-' and '_' are"
    )]
    BadPathChar {
        /// The offending character.
        ch: char,
        /// Byte offset of `ch` in the parsed text.
        offset: usize,
    },

    /// One of the segments given to [`SpiffeId::from_segments`](super::SpiffeId::from_segments)
    /// is invalid; the inner error's offsets are relative to that segment.
    #[error("path segment #{index} is invalid: {source}")]
    InvalidSegment {
        /// Zero-based index of the segment in the slice given.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: Box<IdError>,
    },

    // ---- selector --------------------------------------------------------------------------
    /// The selector text has no `:` separating type and value.
    #[error("selector must be \"type:value\" but has no ':'")]
    MissingSelectorSeparator,

    /// The selector type (before the first `:`) is empty.
    #[error("selector type (before the first ':') is empty")]
    EmptySelectorType,

    /// A character outside `a-z 0-9 _ -` in the selector type; `offset` is within the type.
    #[error(
        "selector type character {ch:?} at byte {offset} is not allowed: only lowercase letters, digits, '_' and '-' are"
    )]
    BadSelectorTypeChar {
        /// The offending character.
        ch: char,
        /// Byte offset of `ch` within the type.
        offset: usize,
    },

    /// The selector type is longer than [`MAX_SELECTOR_TYPE_LEN`](super::MAX_SELECTOR_TYPE_LEN).
    #[error("selector type is {len} bytes long, the maximum is {max}")]
    SelectorTypeTooLong {
        /// Length of the type in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The selector value (after the first `:`) is empty.
    #[error("selector value (after the first ':') is empty")]
    EmptySelectorValue,

    /// A control character in the selector value; `offset` is within the value.
    #[error("selector value contains control character {ch:?} at byte {offset}")]
    SelectorValueControlChar {
        /// The control character.
        ch: char,
        /// Byte offset of `ch` within the value.
        offset: usize,
    },

    /// The selector value is longer than
    /// [`MAX_SELECTOR_VALUE_LEN`](super::MAX_SELECTOR_VALUE_LEN).
    #[error("selector value is {len} bytes long, the maximum is {max}")]
    SelectorValueTooLong {
        /// Length of the value in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Truncates `s` to at most `max` bytes on a character boundary (for error excerpts).
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_respects_char_boundaries() {
        assert_eq!(excerpt("abcdef", 3), "abc");
        assert_eq!(excerpt("ab", 3), "ab");
        // 'é' is two bytes (1..3); cutting at 2 must back off to 1.
        assert_eq!(excerpt("aéb", 2), "a");
        assert_eq!(excerpt("", 5), "");
    }

    #[test]
    fn messages_name_the_problem_and_place() {
        let e = IdError::BadTrustDomainChar {
            ch: '$',
            offset: 14,
        };
        let m = e.to_string();
        assert!(m.contains("'$'") && m.contains("14"), "{m}");

        let e = IdError::WrongScheme {
            scheme: "http".into(),
        };
        assert!(e.to_string().contains("\"http\""));

        let e = IdError::InvalidSegment {
            index: 2,
            source: Box::new(IdError::TrailingSlash),
        };
        assert!(e.to_string().contains("#2"));
        assert!(std::error::Error::source(&e).is_some());

        let e = IdError::TooLong {
            len: 2049,
            max: 2048,
        };
        assert_eq!(
            e.to_string(),
            "SPIFFE ID is 2049 bytes long, the maximum is 2048"
        );
    }
}
