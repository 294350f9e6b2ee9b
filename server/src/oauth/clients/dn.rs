//! Subject distinguished names as RFC 4514 strings, for `tls_client_auth` clients registered
//! by `tls_subject_dn`.
//!
//! A certificate's subject is written the RFC 4514 way (the form of
//! `openssl x509 -noout -subject -nameopt RFC2253`): RDNs from the last to the first,
//! separated by `,`, multi-valued RDNs joined by `+`, the short names `CN L ST O OU C STREET
//! DC UID` (other attribute types as dotted OIDs), special characters escaped with `\`.
//! Example: `CN=payments,OU=billing,O=Example Corp,C=DE`.
//!
//! Comparing with a registered DN ignores spaces around the separators and the case of the
//! attribute types; values compare exactly (case-sensitive). A subject with a value that is
//! not a string type cannot match any registered DN.

use x509_parser::x509::X509Name;

/// The RFC 4514 short name of an attribute type OID (RFC 4514 §3).
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// Escapes an attribute value (RFC 4514 §2.4).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
            continue;
        }
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The RFC 4514 string of `name`, or `None` when a value is not a string type.
pub fn rfc4514(name: &X509Name<'_>) -> Option<String> {
    let mut rdns = Vec::new();
    for rdn in name.iter() {
        let mut attrs = Vec::new();
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let kind = short_name(&oid).map_or(oid.clone(), str::to_owned);
            let value = attr.as_str().ok()?;
            attrs.push(format!("{kind}={}", escape(value)));
        }
        rdns.push(attrs.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

/// Splits at unescaped `sep`, keeping escapes in the parts.
fn split_unescaped(s: &str, seps: &[char]) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        let current = parts.last_mut();
        match current {
            Some(part) if escaped => {
                part.push(c);
                escaped = false;
            }
            Some(part) if c == '\\' => {
                part.push(c);
                escaped = true;
            }
            Some(_) if seps.contains(&c) => parts.push(String::new()),
            Some(part) => part.push(c),
            None => {}
        }
    }
    parts
}

/// A DN string normalised for comparison: attributes trimmed, types upper-cased.
fn normalise(dn: &str) -> Vec<String> {
    split_unescaped(dn, &[',', '+'])
        .iter()
        .map(|attr| match attr.split_once('=') {
            Some((kind, value)) => {
                format!("{}={}", kind.trim().to_ascii_uppercase(), value.trim())
            }
            None => attr.trim().to_owned(),
        })
        .collect()
}

/// Whether `dn` reads as RFC 4514 `type=value` attributes separated by `,` or `+`.
pub fn is_well_formed(dn: &str) -> bool {
    split_unescaped(dn, &[',', '+']).iter().all(|attr| {
        attr.split_once('=').is_some_and(|(kind, _)| {
            let kind = kind.trim();
            !kind.is_empty()
                && kind
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    })
}

/// Whether a certificate subject (RFC 4514 string) matches a registered DN.
pub fn dn_matches(subject: &str, registered: &str) -> bool {
    let registered = normalise(registered);
    !registered.iter().all(String::is_empty) && normalise(subject) == registered
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use x509_parser::prelude::FromDer as _;
    use x509_parser::prelude::X509Certificate;

    use super::*;

    fn subject_of(params: rcgen::CertificateParams) -> Option<String> {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (_, parsed) = X509Certificate::from_der(cert.der()).unwrap();
        rfc4514(parsed.subject())
    }

    #[test]
    fn subject_is_written_last_rdn_first_with_escapes() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "DE");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example, Inc.");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "svc");
        assert_eq!(
            subject_of(params).as_deref(),
            Some(r"CN=svc,O=Example\, Inc.,C=DE")
        );
    }

    #[test]
    fn comparison_ignores_separator_spaces_and_type_case_only() {
        let subject = r"CN=svc,O=Example\, Inc.,C=DE";
        assert!(dn_matches(subject, r"cn=svc, O=Example\, Inc., c=DE"));
        assert!(!dn_matches(subject, r"CN=SVC,O=Example\, Inc.,C=DE"));
        assert!(!dn_matches(subject, "CN=svc,O=Example,C=DE"));
        assert!(!dn_matches(subject, "C=DE,O=Example\\, Inc.,CN=svc"));
        assert!(!dn_matches("", ""));
        assert!(is_well_formed(r"CN=svc, O=Example\, Inc.+OU=x,2.5.4.5=7"));
        for bad in ["", "CN", "CN=a,,O=b", "=a", "C N=a"] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn values_are_escaped_per_rfc4514() {
        assert_eq!(escape("#a b "), r"\#a b\ ");
        assert_eq!(escape("a+b;c<d>\"e\\"), r#"a\+b\;c\<d\>\"e\\"#);
    }
}
