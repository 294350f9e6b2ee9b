//! Random tokens (session ids, CSRF tokens, pending-request ids) and the constant-time
//! CSRF check.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh 256-bit random token, base64url. `None` if the generator failed.
pub fn random_token() -> Option<String> {
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(raw.as_mut()).ok()?;
    Some(URL_SAFE_NO_PAD.encode(raw.as_ref()))
}

/// Whether the form's `presented` token is the session's `expected` one (constant time;
/// an empty or missing token never matches).
pub fn verify(expected: &str, presented: Option<&str>) -> bool {
    match presented {
        Some(p) if !p.is_empty() && !expected.is_empty() => {
            aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), p.as_bytes())
                .is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_exactly() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(verify(&a, Some(&a)));
        assert!(!verify(&a, Some(&b)));
        assert!(!verify(&a, None));
        assert!(!verify("", Some("")));
    }
}
