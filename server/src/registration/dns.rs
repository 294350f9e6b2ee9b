//! DNS names for X.509-SVID SANs.

/// Longest DNS name, in bytes (RFC 1035).
const MAX_NAME_LEN: usize = 253;
/// Longest label, in bytes.
const MAX_LABEL_LEN: usize = 63;

/// Checks a DNS name (`a.example.org`, or a wildcard `*.example.org` whose `*` is the whole
/// leftmost label). Returns the name lowercased, or why it is invalid.
pub(super) fn normalize_dns_name(name: &str) -> Result<String, &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("longer than 253 bytes");
    }
    let rest = name.strip_prefix("*.").unwrap_or(name);
    if rest.split('.').count() < 2 && rest.len() != name.len() {
        return Err("a wildcard needs at least two labels after it");
    }
    for label in rest.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("label longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("labels may contain only a-z, 0-9 and -");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not start or end with -");
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_lowercased() {
        assert_eq!(
            normalize_dns_name("Web.Example.org"),
            Ok("web.example.org".into())
        );
        assert_eq!(
            normalize_dns_name("*.example.org"),
            Ok("*.example.org".into())
        );
        assert_eq!(normalize_dns_name("localhost"), Ok("localhost".into()));
        for bad in [
            "", "a..b", "-a.b", "a-.b", "a_b.c", "*.org", "a.*.b", "a b", ".a", "a.",
        ] {
            assert!(normalize_dns_name(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_dns_name(&format!("{}.org", "a".repeat(64))).is_err());
        assert!(normalize_dns_name(&"a.".repeat(127)).is_err());
    }
}
