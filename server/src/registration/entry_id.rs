//! Entry IDs: random UUID-v4-formatted strings.

use super::RegistrationError;

/// Longest entry ID accepted from a client, in bytes.
pub const MAX_ENTRY_ID_LEN: usize = 64;

/// A new random entry ID (122 random bits, formatted as a version-4 UUID).
pub fn new_entry_id() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Checks an entry ID sent by a client: non-empty, at most [`MAX_ENTRY_ID_LEN`] bytes, only
/// `A-Z a-z 0-9 - _ .`.
pub fn check_entry_id(id: &str) -> Result<(), RegistrationError> {
    let reason = if id.is_empty() {
        "an entry ID is required".to_string()
    } else if id.len() > MAX_ENTRY_ID_LEN {
        format!("{} bytes, at most {MAX_ENTRY_ID_LEN} allowed", id.len())
    } else if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        format!("character {c:?} is not allowed (use A-Z a-z 0-9 - _ .)")
    } else {
        return Ok(());
    };
    Err(RegistrationError::InvalidEntryId { reason })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v4_shaped_and_distinct() {
        let a = new_entry_id().unwrap();
        let b = new_entry_id().unwrap();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
        check_entry_id(&a).unwrap();
    }

    #[test]
    fn client_ids_are_checked() {
        assert!(check_entry_id("").is_err());
        assert!(check_entry_id("a/b").is_err());
        assert!(check_entry_id(&"a".repeat(65)).is_err());
        check_entry_id("legacy_ID-1.2").unwrap();
    }
}
