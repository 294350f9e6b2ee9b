//! PKCE `S256` verification (RFC 7636 §4.1, §4.6): the only method this server accepts.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Whether `verifier` is a well-formed code verifier (43–128 unreserved characters) whose
/// `BASE64URL(SHA256(verifier))` equals `challenge` (compared in constant time).
pub(crate) fn verify_s256(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

/// `S256` challenge of `verifier` (tests and clients).
#[cfg(test)]
pub(crate) fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify_s256(verifier, challenge));
        assert_eq!(challenge_of(verifier), challenge);
    }

    #[test]
    fn refuses_malformed_verifiers_and_plain() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        // `plain`: the challenge is the verifier itself.
        assert!(!verify_s256(verifier, verifier));
        let short = "a".repeat(42);
        assert!(!verify_s256(&short, &challenge_of(&short)));
        let long = "a".repeat(129);
        assert!(!verify_s256(&long, &challenge_of(&long)));
        let bad = format!("{}+", "a".repeat(43));
        assert!(!verify_s256(&bad, &challenge_of(&bad)));
        let ok = "a".repeat(128);
        assert!(verify_s256(&ok, &challenge_of(&ok)));
    }
}
