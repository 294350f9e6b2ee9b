//! Why compact JWS text or a NumericDate was refused. Messages never echo the token.

use super::compact::Part;

/// Why a compact JWS was not split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Longer than [`super::MAX_COMPACT_LEN`] bytes.
    #[error("token is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not exactly three `.`-separated segments.
    #[error("expected three dot-separated parts, found {found}")]
    SegmentCount {
        /// How many segments the text has.
        found: usize,
    },
    /// A segment is not base64url without padding.
    #[error("the {0} is not base64url (without padding)")]
    Base64(Part),
    /// The header or the claims are not JSON.
    #[error("the {0} is not JSON")]
    Json(Part),
    /// The header or the claims are JSON but not an object.
    #[error("the {0} is not a JSON object")]
    NotAnObject(Part),
    /// A member name appears twice in the header or the claims.
    #[error("the {part} repeats the member {name:?}")]
    DuplicateMember {
        /// Where.
        part: Part,
        /// The repeated name (at most 40 characters).
        name: String,
    },
}

/// Why a claim is not a NumericDate (RFC 7519 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not a JSON number (a string, `null`, …).
    #[error("is not a number")]
    NotANumber,
    /// Before 1970-01-01T00:00:00Z.
    #[error("is negative")]
    Negative,
    /// After the end of year 9999 (see [`super::MAX_NUMERIC_DATE`]).
    #[error("is out of range")]
    OutOfRange,
}
