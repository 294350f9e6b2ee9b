//! DNS names for X.509-SVID SANs: the one rule set used when an entry is registered and when
//! the CA signs (so what registration accepts is exactly what the CA issues).
//!
//! A name is 1..=253 bytes of dot-separated labels, each 1..=63 bytes of `a-z A-Z 0-9 -`
//! not starting or ending with `-`. A wildcard `*` is allowed only as the whole leftmost
//! label and only above at least two labels (`*.example.org`, never `*.org` or `a.*.b`).

/// Longest DNS name, in bytes (RFC 1035).
pub const MAX_DNS_NAME_LEN: usize = 253;
/// Longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a DNS name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsNameError {
    /// The name is empty.
    #[error("empty")]
    Empty,
    /// The name is longer than [`MAX_DNS_NAME_LEN`] bytes.
    #[error("longer than 253 bytes")]
    TooLong,
    /// Two dots in a row, or a leading or trailing dot.
    #[error("empty label")]
    EmptyLabel,
    /// A label is longer than [`MAX_LABEL_LEN`] bytes.
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// A byte outside `a-z A-Z 0-9 -` in a label.
    #[error("labels may contain only a-z, 0-9 and -")]
    BadCharacter,
    /// A label starts or ends with `-`.
    #[error("a label may not start or end with -")]
    HyphenAtEdge,
    /// `*` somewhere other than as the whole leftmost label.
    #[error("* is only allowed as the whole leftmost label")]
    MisplacedWildcard,
    /// A wildcard over fewer than two labels (`*.org`).
    #[error("a wildcard needs at least two labels after it")]
    WildcardTooBroad,
}

/// Checks `name` and returns it lowercased.
pub fn normalize_dns_name(name: &str) -> Result<String, DnsNameError> {
    if name.is_empty() {
        return Err(DnsNameError::Empty);
    }
    if name.len() > MAX_DNS_NAME_LEN {
        return Err(DnsNameError::TooLong);
    }
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if wildcard && rest.split('.').count() < 2 {
        return Err(DnsNameError::WildcardTooBroad);
    }
    for label in rest.split('.') {
        if label.is_empty() {
            return Err(DnsNameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(DnsNameError::LabelTooLong);
        }
        if label.contains('*') {
            return Err(DnsNameError::MisplacedWildcard);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(DnsNameError::BadCharacter);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DnsNameError::HyphenAtEdge);
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
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
    }

    #[test]
    fn each_rule_has_its_error() {
        use DnsNameError::*;
        for (bad, why) in [
            ("", Empty),
            ("a..b", EmptyLabel),
            (".a", EmptyLabel),
            ("a.", EmptyLabel),
            ("-a.b", HyphenAtEdge),
            ("a-.b", HyphenAtEdge),
            ("a_b.c", BadCharacter),
            ("a b", BadCharacter),
            ("*.org", WildcardTooBroad),
            ("*", MisplacedWildcard),
            ("a.*.b", MisplacedWildcard),
            ("*.*.example.org", MisplacedWildcard),
            ("w*.example.org", MisplacedWildcard),
            ("web.*", MisplacedWildcard),
        ] {
            assert_eq!(normalize_dns_name(bad), Err(why), "{bad:?}");
        }
        assert_eq!(
            normalize_dns_name(&format!("{}.org", "a".repeat(64))),
            Err(LabelTooLong)
        );
        assert_eq!(normalize_dns_name(&"a.".repeat(127)), Err(TooLong));
    }
}
