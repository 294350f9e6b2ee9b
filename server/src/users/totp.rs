//! TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30 s steps, one step of clock skew either way,
//! and a code's step is accepted once (a step at or before the last accepted one is
//! refused, so an observed code cannot be replayed).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

use super::UserError;

/// Seconds per step (RFC 6238 `X`).
pub const STEP_SECONDS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Secret bytes (160 bits, RFC 4226's recommendation for SHA-1).
pub const SECRET_BYTES: usize = 20;
/// Steps accepted either side of the current one.
const WINDOW: u64 = 1;

/// A TOTP secret: zeroized on drop, never printed.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// 160 random bits.
    pub fn generate() -> Result<Self, UserError> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| UserError::Internal("the system random generator failed".into()))?;
        Ok(Self(bytes))
    }

    /// A secret from stored (unsealed) bytes.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The raw secret (to seal for storage).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `otpauth://totp/Tessera:<username>?secret=<base32>&issuer=Tessera`, the URI
    /// authenticator apps scan (the secret in unpadded base32).
    pub fn provisioning_uri(&self, username: &str) -> Zeroizing<String> {
        let secret = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0));
        Zeroizing::new(format!(
            "otpauth://totp/Tessera:{}?secret={}&issuer=Tessera&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent_encode(username),
            secret.as_str()
        ))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HOTP (RFC 4226) of `counter`: dynamic truncation to `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes);
    (word & 0x7fff_ffff) % 10u32.pow(digits)
}

/// The step of Unix time `unix_seconds` (times before 1970 are step 0).
pub fn step_of(unix_seconds: i64) -> u64 {
    u64::try_from(unix_seconds).unwrap_or(0) / STEP_SECONDS
}

/// Checks a 6-digit `code` at `unix_seconds`: the current step or one either side, and
/// only a step after `last_step`. Returns the accepted step (store it as the new
/// `last_step`). Every candidate step is computed and compared in constant time.
pub fn verify_totp(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_step: u64,
) -> Option<u64> {
    let well_formed = code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit());
    let now = step_of(unix_seconds);
    let mut accepted = None;
    for step in now.saturating_sub(WINDOW)..=now.saturating_add(WINDOW) {
        let expected = format!("{:06}", hotp(secret.bytes(), step, DIGITS));
        let same = verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok();
        if same && step > last_step && accepted.is_none() {
            accepted = Some(step);
        }
    }
    accepted.filter(|_| well_formed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 key.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        for (time, code) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(RFC_KEY, time / STEP_SECONDS, 8), code, "T = {time}");
            // Six digits are the low six of the eight.
            assert_eq!(hotp(RFC_KEY, time / STEP_SECONDS, 6), code % 1_000_000);
        }
    }

    #[test]
    fn window_is_one_step_and_a_step_is_used_once() {
        let secret = TotpSecret::from_bytes(Zeroizing::new(RFC_KEY.to_vec()));
        let t = 1_111_111_111i64;
        let now = step_of(t);
        let code = |step: u64| format!("{:06}", hotp(RFC_KEY, step, 6));
        assert_eq!(code(now), "050471");
        assert_eq!(verify_totp(&secret, "050471", t, 0), Some(now));
        assert_eq!(verify_totp(&secret, &code(now - 1), t, 0), Some(now - 1));
        assert_eq!(verify_totp(&secret, &code(now + 1), t, 0), Some(now + 1));
        assert_eq!(verify_totp(&secret, &code(now - 2), t, 0), None);
        assert_eq!(verify_totp(&secret, &code(now + 2), t, 0), None);
        // Replay: the accepted step (and anything before it) is refused afterwards.
        assert_eq!(verify_totp(&secret, "050471", t, now), None);
        assert_eq!(verify_totp(&secret, &code(now - 1), t, now), None);
        assert_eq!(verify_totp(&secret, &code(now + 1), t, now), Some(now + 1));
        for bad in ["", "05047", "0504710", "05047a", " 50471", "+50471"] {
            assert_eq!(verify_totp(&secret, bad, t, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_random_redacted_and_provisioned_as_otpauth() {
        let a = TotpSecret::generate().unwrap();
        let b = TotpSecret::generate().unwrap();
        assert_eq!(a.bytes().len(), 20);
        assert_ne!(a.bytes(), b.bytes());
        assert_eq!(format!("{a:?}"), "TotpSecret(<redacted>)");
        let rfc = TotpSecret::from_bytes(Zeroizing::new(RFC_KEY.to_vec()));
        let uri = rfc.provisioning_uri("Ada@example.org");
        assert!(
            uri.starts_with(
                "otpauth://totp/Tessera:Ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera"
            ),
            "{}",
            uri.as_str()
        );
    }
}
