//! What both client assertion methods share: reading a compact JWS without trusting it
//! (through the one parser, [`tessera_proto::jwt`]), audience and NumericDate helpers, and
//! the error enum of assertion checks.

use serde_json::{Map, Value};
use tessera_proto::jwt::{CompactJws, DateError, JwtError, numeric_date_claim, split_compact};
use tessera_proto::jwt_svid::TokenError;

/// Longest excerpt of an assertion-supplied value (`alg`, `kid`) put in an error.
const EXCERPT: usize = 40;

/// Why a client assertion (`private_key_jwt` or `spiffe_jwt`) was refused. Every variant is
/// answered `invalid_client`; messages never contain the assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a compact JWS with JSON-object header and claims (the one parser,
    /// [`tessera_proto::jwt`]).
    #[error("malformed assertion: {0}")]
    Malformed(#[from] JwtError),
    /// A date claim is not a NumericDate ([`tessera_proto::jwt::numeric_date`]).
    #[error("assertion claim {claim} {reason}")]
    BadDate {
        /// The claim.
        claim: &'static str,
        /// Why.
        reason: DateError,
    },
    /// `alg` is absent, `none`, HMAC or otherwise not allowed.
    #[error("assertion algorithm {0:?} is not allowed")]
    UnsupportedAlgorithm(String),
    /// The registered JWK set is unreadable.
    #[error("the client's registered JWK set is unusable")]
    BadJwks,
    /// The header's `kid` names no registered key.
    #[error("no registered key with kid {0:?}")]
    UnknownKey(String),
    /// No registered key has the type, curve, `alg` and `use` the header needs.
    #[error("no registered key fits the assertion's algorithm")]
    NoUsableKey,
    /// No candidate key verifies the signature.
    #[error("assertion signature does not verify")]
    BadSignature,
    /// `iss` and `sub` are not both the client's ID.
    #[error("assertion iss/sub is not the client")]
    WrongIssuer,
    /// `aud` names neither the token endpoint nor the issuer.
    #[error("assertion audience is neither the token endpoint nor the issuer")]
    AudienceMismatch,
    /// No numeric `exp`.
    #[error("assertion has no expiry")]
    MissingExpiry,
    /// `exp` has passed.
    #[error("assertion has expired")]
    Expired,
    /// Without `iat`, `exp` is further ahead than the accepted window.
    #[error("assertion without iat has too long a lifetime")]
    LifetimeTooLong,
    /// `iat` is older than the accepted window.
    #[error("assertion was issued too long ago")]
    TooOld,
    /// `nbf` or `iat` lies in the future.
    #[error("assertion is not valid yet")]
    NotYetValid,
    /// No usable `jti` (required, at most 256 bytes).
    #[error("assertion has no usable jti")]
    MissingJti,
    /// The JWT-SVID is invalid (wrong trust domain, audience, signature, expiry, …).
    #[error("JWT-SVID refused: {0}")]
    Svid(#[from] TokenError),
    /// The JWT-SVID's SPIFFE ID is not the client's registered one.
    #[error("JWT-SVID subject is not the client's registered SPIFFE ID")]
    WrongSpiffeId,
    /// The JWT-SVID's `aud` names the issuer: that audience is reserved for token-exchange
    /// subjects, so a JWT-SVID given to a service for exchange is no client credential.
    #[error("JWT-SVID audience includes the issuer (reserved for token exchange)")]
    ExchangeAudience,
}

/// A JSON object (a JOSE header or a claims set).
pub(super) type Object = Map<String, Value>;

/// The header and claims of a compact JWS, unverified (the one parser).
pub(super) fn split(token: &str) -> Result<CompactJws<'_>, AssertionError> {
    Ok(split_compact(token)?)
}

/// Whether `aud` (a string or an array) contains one of `accepted`.
pub(super) fn audience_contains(claims: &Map<String, Value>, accepted: &[&str]) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => accepted.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| accepted.contains(&a)),
        _ => false,
    }
}

/// The NumericDate claim `claim` (`Ok(None)` when absent), by the one parser's rules.
pub(super) fn date_claim(
    claims: &Object,
    claim: &'static str,
) -> Result<Option<i64>, AssertionError> {
    numeric_date_claim(claims, claim).map_err(|reason| AssertionError::BadDate { claim, reason })
}

/// A short, printable excerpt of an assertion-supplied value.
pub(super) fn excerpt(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT)
        .collect()
}
