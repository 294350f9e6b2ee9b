//! Refresh-token and grant-ID generation, and the hash that is stored.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::{GrantError, RefreshToken};

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, GrantError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    aws_lc_rs::rand::fill(bytes.as_mut())
        .map_err(|_| GrantError::Unavailable("the system random generator failed".into()))?;
    Ok(bytes)
}

/// A new refresh token: 256 random bits, base64url without padding (43 characters).
pub(super) fn new_token() -> Result<RefreshToken, GrantError> {
    let bytes = random::<32>()?;
    Ok(RefreshToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes))))
}

/// A new grant ID: 128 random bits, base64url.
pub(super) fn new_grant_id() -> Result<String, GrantError> {
    Ok(URL_SAFE_NO_PAD.encode(*random::<16>()?))
}

/// Hex SHA-256 of a token: the only form stored.
pub(super) fn hash(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// Whether `presented` can be one of our refresh tokens at all (saves a lookup and keeps
/// huge inputs out of the hash).
pub(super) fn plausible(presented: &str) -> bool {
    presented.len() == 43
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
