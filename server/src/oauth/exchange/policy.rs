//! Exchange policies: which subjects, through which clients, may get tokens for which
//! audiences and scopes. Nothing is allowed that no policy allows (default deny).

use tessera_proto::identity::SpiffeId;

/// Prefix of a Kubernetes service account's username (`system:serviceaccount:NS:NAME`).
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Which subjects a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectPattern {
    /// Exactly this SPIFFE ID or service-account username.
    Exact(String),
    /// Every subject strictly below this prefix: `spiffe://td/path/` (from
    /// `spiffe://td/path/*`, any depth) or `system:serviceaccount:NS:` (from
    /// `system:serviceaccount:NS:*`, every service account of the namespace).
    Below(String),
}

impl SubjectPattern {
    /// Parses `spiffe://td/path`, `spiffe://td/path/*`, `spiffe://td/*`,
    /// `system:serviceaccount:NS:NAME` or `system:serviceaccount:NS:*`. Anything else (a
    /// bare `*`, a `*` elsewhere, a malformed ID) is refused with the reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix(SERVICE_ACCOUNT_PREFIX) {
            let Some((ns, name)) = rest.split_once(':') else {
                return Err(format!("{text:?} is not system:serviceaccount:NS:NAME"));
            };
            if !is_dns_label(ns) {
                return Err(format!("{ns:?} is not a Kubernetes namespace name"));
            }
            return match name {
                "*" => Ok(Self::Below(format!("{SERVICE_ACCOUNT_PREFIX}{ns}:"))),
                _ if is_dns_subdomain(name) => Ok(Self::Exact(text.to_owned())),
                _ => Err(format!("{name:?} is not a service account name (or *)")),
            };
        }
        if text.starts_with("spiffe://") {
            let (base, below) = match text.strip_suffix("/*") {
                Some(base) => (base, true),
                None => (text, false),
            };
            let id = SpiffeId::parse(base).map_err(|e| format!("{base:?}: {e}"))?;
            if id.as_str() != base {
                return Err(format!("{base:?} is not in canonical form"));
            }
            return Ok(if below {
                Self::Below(format!("{base}/"))
            } else {
                Self::Exact(base.to_owned())
            });
        }
        Err(format!(
            "{text:?} must be a SPIFFE ID (optionally ending in /*) or system:serviceaccount:NS:NAME (NAME may be *)"
        ))
    }

    /// Whether `subject` (a validated SPIFFE ID or service-account username) is covered.
    pub fn matches(&self, subject: &str) -> bool {
        match self {
            Self::Exact(exact) => subject == exact,
            Self::Below(prefix) => {
                let service_accounts = prefix.starts_with(SERVICE_ACCOUNT_PREFIX);
                subject.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                    // `NS:*` covers names in NS, never a longer `NS:a:b`.
                    let crosses_namespace = service_accounts && rest.contains(':');
                    !rest.is_empty() && !crosses_namespace
                })
            }
        }
    }
}

/// RFC 1123 label (Kubernetes namespace names).
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain (Kubernetes service-account names).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// One configured policy: subjects matching `subject`, presented by one of `clients` (any
/// client allowed the grant when empty), may get tokens for a subset of `audiences` with a
/// subset of `scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangePolicy {
    /// Which subjects.
    pub subject: SubjectPattern,
    /// Which requesting clients (by `client_id`); empty means any.
    pub clients: Vec<String>,
    /// The audiences a token may be issued for (never empty).
    pub audiences: Vec<String>,
    /// The scopes a token may carry; an omitted `scope` gets all of them.
    pub scopes: Vec<String>,
}

impl ExchangePolicy {
    /// Whether this policy applies to `subject` exchanging through `client_id`.
    pub fn admits(&self, subject: &str, client_id: &str) -> bool {
        self.subject.matches(subject)
            && (self.clients.is_empty() || self.clients.iter().any(|c| c == client_id))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_patterns_match_exactly_or_strictly_below() {
        let exact = SubjectPattern::parse("spiffe://example.org/ns/prod/web").unwrap();
        assert!(exact.matches("spiffe://example.org/ns/prod/web"));
        assert!(!exact.matches("spiffe://example.org/ns/prod/web/x"));
        assert!(!exact.matches("spiffe://example.org/ns/prod/webx"));

        let below = SubjectPattern::parse("spiffe://example.org/ns/prod/*").unwrap();
        assert!(below.matches("spiffe://example.org/ns/prod/web"));
        assert!(below.matches("spiffe://example.org/ns/prod/web/deep"));
        assert!(!below.matches("spiffe://example.org/ns/prod"));
        assert!(!below.matches("spiffe://example.org/ns/production/web"));
        assert!(!below.matches("spiffe://other.org/ns/prod/web"));

        let domain = SubjectPattern::parse("spiffe://example.org/*").unwrap();
        assert!(domain.matches("spiffe://example.org/anything"));
        assert!(!domain.matches("spiffe://example.org.evil/anything"));
    }

    #[test]
    fn service_account_patterns() {
        let exact = SubjectPattern::parse("system:serviceaccount:prod:web").unwrap();
        assert!(exact.matches("system:serviceaccount:prod:web"));
        assert!(!exact.matches("system:serviceaccount:prod:web2"));
        let ns = SubjectPattern::parse("system:serviceaccount:prod:*").unwrap();
        assert!(ns.matches("system:serviceaccount:prod:web"));
        assert!(!ns.matches("system:serviceaccount:prod:"));
        assert!(!ns.matches("system:serviceaccount:production:web"));
        assert!(!ns.matches("system:serviceaccount:prod:web:x"));
        // Kinds never cross.
        assert!(!ns.matches("spiffe://prod/web"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "*",
            "spiffe://*",
            "spiffe://example.org/ns/*/web",
            "spiffe://Example.org/x",
            "spiffe://example.org/x/",
            "spiffe://example.org/x*",
            "system:serviceaccount:prod",
            "system:serviceaccount:*:web",
            "system:serviceaccount:Prod:web",
            "system:serviceaccount:prod:w*",
            "web",
            "",
        ] {
            assert!(SubjectPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn client_restriction() {
        let policy = ExchangePolicy {
            subject: SubjectPattern::parse("spiffe://example.org/*").unwrap(),
            clients: vec!["gateway".into()],
            audiences: vec!["a".into()],
            scopes: vec![],
        };
        assert!(policy.admits("spiffe://example.org/w", "gateway"));
        assert!(!policy.admits("spiffe://example.org/w", "other"));
        let any = ExchangePolicy {
            clients: vec![],
            ..policy
        };
        assert!(any.admits("spiffe://example.org/w", "other"));
    }
}
