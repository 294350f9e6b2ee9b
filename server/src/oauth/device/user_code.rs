//! User codes (RFC 8628 §6.1): 8 letters from an alphabet without vowels or look-alikes
//! (20 symbols, ≈ 34.6 bits), shown as `XXXX-XXXX`; input is case- and dash-insensitive.

/// The unambiguous alphabet.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code.
const LEN: usize = 8;

/// A fresh normalised user code (no dash), or `None` if the random generator failed.
pub(super) fn generate() -> Option<String> {
    let mut out = String::with_capacity(LEN);
    while out.len() < LEN {
        let mut buf = [0u8; 16];
        aws_lc_rs::rand::fill(&mut buf).ok()?;
        // Rejection sampling: 240 is the largest multiple of 20 ≤ 256 (no modulo bias).
        for b in buf.iter().filter(|b| **b < 240) {
            if out.len() == LEN {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(*b % 20)]));
        }
    }
    Some(out)
}

/// The canonical form of what a user typed: uppercase, dashes and whitespace ignored;
/// `None` unless exactly 8 letters of the alphabet remain.
pub fn normalise_user_code(input: &str) -> Option<String> {
    let out: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (out.len() == LEN && out.bytes().all(|b| ALPHABET.contains(&b))).then_some(out)
}

/// `BCDFGHJK` → `BCDF-GHJK`.
pub fn display_user_code(normal: &str) -> String {
    match (normal.get(..4), normal.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => normal.to_owned(),
    }
}
