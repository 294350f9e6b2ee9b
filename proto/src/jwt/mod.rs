//! The one parser of compact JWS / JWT text (RFC 7515 §7.1, RFC 7519) used by every JWT
//! entry point of Tessera: JWT-SVIDs (agent and server), OAuth client assertions, token
//! exchange subjects. Pure functions of their input (`fn(&str) -> Result<…>`), so a fuzz
//! target can call them directly.
//!
//! Decisions (each tested in `tests.rs`):
//! - exactly three segments; header and claims are base64url **without padding** (RFC 7515
//!   §2) decoding to a JSON **object**; the signature segment is left to the verification
//!   (which decodes it; it may be empty: an unsecured JWS is split, and refused later by the
//!   algorithm allowlist);
//! - a duplicate member name in the header or the claims is refused (RFC 7515 §5.2 allows
//!   refusing; a "last one wins" parser elsewhere would read another value);
//! - at most [`MAX_COMPACT_LEN`] bytes;
//! - a NumericDate ([`numeric_date`]) is a JSON number of seconds ≥ 0 and ≤ the end of year
//!   9999; a fraction is floored (RFC 7519 §2 allows non-integers); a string, a negative or
//!   a larger number is refused.

mod compact;
mod error;
mod numeric_date;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use compact::{CompactJws, MAX_COMPACT_LEN, Part, split_compact};
pub use error::{DateError, JwtError};
pub use numeric_date::{MAX_NUMERIC_DATE, numeric_date, numeric_date_claim};
