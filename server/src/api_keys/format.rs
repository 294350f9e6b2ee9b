//! The API key secret format, after GitHub's token scheme: a type prefix, a random body
//! and a checksum, so secret scanners recognise a key offline and typos are caught
//! before any lookup.
//!
//! `tsk_` + 43 base62 characters (32 random bytes, 256 bits, as a fixed-width base62
//! number) + 6 base62 characters (the CRC32 of the 43-character body). 53 characters in
//! all. Only the SHA-256 of the whole string is stored; comparisons are constant-time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

/// Every API key secret starts with this.
pub const KEY_PREFIX: &str = "tsk_";
/// Every API key ID starts with this.
pub const ID_PREFIX: &str = "ak_";
/// Base62 characters of the random body (32 bytes).
pub const BODY_LEN: usize = 43;
/// Base62 characters of the checksum (a CRC32).
pub const CHECKSUM_LEN: usize = 6;
/// The length of a whole key.
pub const KEY_LEN: usize = KEY_PREFIX.len() + BODY_LEN + CHECKSUM_LEN;
/// Random bytes of a key's body (256 bits).
const SECRET_BYTES: usize = 32;
/// Random bytes of a key's ID (128 bits; base62, 22 characters).
const ID_BYTES: usize = 16;
const ID_BODY_LEN: usize = 22;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a well-formed Tessera API key. Says nothing about whether the key
/// exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// It does not start with `tsk_`.
    #[error("not a Tessera API key: it does not start with {KEY_PREFIX}")]
    Prefix,
    /// Wrong length.
    #[error("malformed Tessera API key: {0} characters, expected {KEY_LEN}")]
    Length(usize),
    /// A character outside base62 after the prefix.
    #[error("malformed Tessera API key: characters after {KEY_PREFIX} must be 0-9 A-Z a-z")]
    Charset,
    /// The checksum does not match the body (a typo or a truncated copy).
    #[error("malformed Tessera API key: checksum mismatch")]
    Checksum,
}

/// A freshly generated key: shown to its owner once, zeroized on drop, never printed by
/// `Debug`.
#[derive(Clone)]
pub struct ApiKeySecret(Zeroizing<String>);

impl ApiKeySecret {
    /// 256 random bits from the system CSPRNG, with the prefix and checksum.
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        SystemRandom::new().fill(bytes.as_mut())?;
        let body = Zeroizing::new(base62(bytes.as_ref(), BODY_LEN));
        Ok(Self(Zeroizing::new(assemble(&body))))
    }

    /// The key itself, to hand to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, hex: what is stored.
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// A new key ID: `ak_` + 128 random bits in base62.
pub fn new_key_id() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; ID_BYTES];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(format!("{ID_PREFIX}{}", base62(&bytes, ID_BODY_LEN)))
}

/// `tsk_` + body + checksum.
fn assemble(body: &str) -> String {
    let mut key = String::with_capacity(KEY_LEN);
    key.push_str(KEY_PREFIX);
    key.push_str(body);
    key.push_str(&base62(&crc32(body.as_bytes()).to_be_bytes(), CHECKSUM_LEN));
    key
}

/// Checks the format of `presented` (prefix, length, charset, checksum) without any
/// lookup.
pub fn parse_key(presented: &str) -> Result<(), KeyFormatError> {
    let Some(rest) = presented.strip_prefix(KEY_PREFIX) else {
        return Err(KeyFormatError::Prefix);
    };
    if presented.len() != KEY_LEN {
        return Err(KeyFormatError::Length(presented.chars().count()));
    }
    if !rest.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Charset);
    }
    let (body, checksum) = rest.split_at(BODY_LEN);
    let expected = base62(&crc32(body.as_bytes()).to_be_bytes(), CHECKSUM_LEN);
    if verify_slices_are_equal(expected.as_bytes(), checksum.as_bytes()).is_err() {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
}

/// Whether two hashes are equal, in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// `bytes` as a big-endian number in base62, left-padded with `0` to `width` digits (the
/// number must fit: 32 bytes fit 43 digits, 4 bytes 6, 16 bytes 22).
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number: Vec<u8> = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while digits.len() < width {
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            // value < 62 * 256, so the quotient fits a byte.
            *byte = u8::try_from(value / 62).unwrap_or(u8::MAX);
            remainder = value % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    number.iter_mut().for_each(|b| *b = 0);
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// CRC-32 (IEEE 802.3, the one of zlib and GitHub's token checksum).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_is_fixed_width_big_endian() {
        assert_eq!(base62(&[0], 3), "000");
        assert_eq!(base62(&[61], 2), "0z");
        assert_eq!(base62(&[0, 62], 2), "10");
        assert_eq!(base62(&[0xff; 32], 43).len(), 43);
        // 2^256 - 1 fits 43 base62 digits: the top digit is not clipped.
        assert_ne!(base62(&[0xff; 32], 43), base62(&[0x7f; 32], 43));
    }

    #[test]
    fn generated_keys_round_trip() {
        let a = ApiKeySecret::generate().unwrap();
        let b = ApiKeySecret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        for key in [&a, &b] {
            assert_eq!(key.expose().len(), KEY_LEN);
            assert!(key.expose().starts_with("tsk_"));
            assert_eq!(parse_key(key.expose()), Ok(()));
            assert_eq!(key.hash(), hash_key(key.expose()));
            assert_eq!(key.hash().len(), 64);
        }
        assert_eq!(format!("{a:?}"), "ApiKeySecret(<redacted>)");
        let id = new_key_id().unwrap();
        assert!(id.starts_with("ak_") && id.len() == 3 + 22, "{id}");
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        let key = ApiKeySecret::generate().unwrap();
        let good = key.expose();
        assert_eq!(
            parse_key(&good.replacen("tsk_", "ghp_", 1)),
            Err(KeyFormatError::Prefix)
        );
        assert_eq!(parse_key(""), Err(KeyFormatError::Prefix));
        assert_eq!(
            parse_key(&good[..KEY_LEN - 1]),
            Err(KeyFormatError::Length(52))
        );
        assert_eq!(
            parse_key(&format!("{good}0")),
            Err(KeyFormatError::Length(54))
        );
        let mut bad_char = good.to_owned();
        bad_char.replace_range(10..11, "-");
        assert_eq!(parse_key(&bad_char), Err(KeyFormatError::Charset));
        // One changed body character: the checksum catches it.
        let mut typo = good.as_bytes().to_vec();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(parse_key(&typo), Err(KeyFormatError::Checksum));
        // A fixed vector: the body of all zeros and its checksum.
        let zeros = "0".repeat(BODY_LEN);
        let fixed = assemble(&zeros);
        assert_eq!(parse_key(&fixed), Ok(()));
        assert_eq!(
            &fixed[KEY_PREFIX.len() + BODY_LEN..],
            base62(&crc32(zeros.as_bytes()).to_be_bytes(), 6)
        );
    }
}
