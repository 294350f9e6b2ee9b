//! Account field validation: usernames (case-insensitive, ASCII), e-mail (light), display
//! names, and opaque user IDs.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::UserError;

/// Longest username, in characters.
pub const MAX_USERNAME: usize = 64;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 128;
/// Longest e-mail address, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;

fn invalid(field: &'static str, reason: impl Into<String>) -> UserError {
    UserError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks a username and returns its unique key (lowercase).
///
/// 1 to 64 characters from `A-Z a-z 0-9 . _ - @`, starting with a letter or digit. ASCII
/// only, so case-insensitivity is exact and look-alike Unicode names cannot collide.
pub fn username_key(username: &str) -> Result<String, UserError> {
    let field = "username";
    if username.is_empty() {
        return Err(invalid(field, "required"));
    }
    if username.chars().count() > MAX_USERNAME {
        return Err(invalid(field, format!("at most {MAX_USERNAME} characters")));
    }
    if let Some(c) = username
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(invalid(
            field,
            format!("{c:?} is not allowed (use letters, digits, '.', '_', '-', '@')"),
        ));
    }
    if !username.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(field, "must start with a letter or digit"));
    }
    Ok(username.to_ascii_lowercase())
}

/// Checks an optional e-mail address: empty, or `local@domain` with a dot in the domain,
/// no spaces or control characters, at most 254 bytes.
pub fn email(email: &str) -> Result<(), UserError> {
    let field = "email";
    if email.is_empty() {
        return Ok(());
    }
    if email.len() > MAX_EMAIL {
        return Err(invalid(field, format!("at most {MAX_EMAIL} bytes")));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        }
        None => false,
    };
    if !ok {
        return Err(invalid(
            field,
            format!("{email:?} is not an address like name@example.org"),
        ));
    }
    Ok(())
}

/// Checks a display name: at most 128 characters, no control characters.
pub fn display_name(name: &str) -> Result<(), UserError> {
    let field = "display_name";
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(invalid(
            field,
            format!("at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// A new opaque user ID: 128 random bits, base64url (22 characters).
pub fn new_user_id() -> Result<String, UserError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| UserError::Internal("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn field_of(e: UserError) -> &'static str {
        match e {
            UserError::Invalid { field, .. } => field,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn usernames_are_checked_and_lowercased() {
        assert_eq!(
            username_key("Alice.Smith-2@corp").unwrap(),
            "alice.smith-2@corp"
        );
        assert_eq!(username_key(&"a".repeat(64)).unwrap().len(), 64);
        for bad in [
            "",
            " alice",
            "alice smith",
            "_alice",
            "ålice",
            "a/b",
            "a\0",
            "a:b",
        ] {
            let err = username_key(bad).unwrap_err();
            assert!(err.to_string().starts_with("username: "), "{bad:?}: {err}");
        }
        assert_eq!(
            field_of(username_key(&"a".repeat(65)).unwrap_err()),
            "username"
        );
    }

    #[test]
    fn emails_are_lightly_checked() {
        for ok in ["", "a@example.org", "first.last+tag@sub.example.co.uk"] {
            email(ok).unwrap();
        }
        for bad in [
            "nope",
            "@example.org",
            "a@localhost",
            "a@b@example.org",
            "a b@example.org",
            "a@.example.org",
            "a@example..org",
            "a@example.org.",
        ] {
            assert_eq!(field_of(email(bad).unwrap_err()), "email", "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(field_of(email(&long).unwrap_err()), "email");
    }

    #[test]
    fn display_names_and_ids() {
        display_name("Ada Lovelace ✓").unwrap();
        display_name("").unwrap();
        assert_eq!(field_of(display_name("a\nb").unwrap_err()), "display_name");
        assert_eq!(
            field_of(display_name(&"x".repeat(129)).unwrap_err()),
            "display_name"
        );
        let a = new_user_id().unwrap();
        let b = new_user_id().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
