//! URI SANs of X.509 certificates: the one extractor the server (agent API caller,
//! `tls_client_auth`) and the agent use, so they cannot disagree about which SPIFFE ID a
//! certificate carries.
//!
//! A certificate with two subjectAltName extensions is refused (RFC 5280 §4.2: an extension
//! appears at most once); an X.509-SVID has exactly one URI SAN, a valid SPIFFE ID.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

use crate::identity::{IdError, SpiffeId};

/// Why a certificate's URI SANs could not be read or do not make an X.509-SVID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SanError {
    /// The subjectAltName extension is malformed or present more than once.
    #[error("the subjectAltName extension is malformed or repeated")]
    BadExtension,
    /// No URI SAN (not an X.509-SVID).
    #[error("the certificate has no URI SAN")]
    NoUriSan,
    /// More than one URI SAN (an X.509-SVID has exactly one).
    #[error("the certificate has {count} URI SANs; an X.509-SVID has exactly one")]
    SeveralUriSans {
        /// How many.
        count: usize,
    },
    /// The URI SAN is not a valid SPIFFE ID.
    #[error("the URI SAN is not a SPIFFE ID: {0}")]
    NotASpiffeId(#[from] IdError),
}

/// Every URI SAN of `cert`, in order (empty without a subjectAltName extension).
pub fn uri_sans<'a>(cert: &'a X509Certificate<'_>) -> Result<Vec<&'a str>, SanError> {
    let Some(san) = cert
        .subject_alternative_name()
        .map_err(|_| SanError::BadExtension)?
    else {
        return Ok(Vec::new());
    };
    Ok(san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        })
        .collect())
}

/// The SPIFFE ID of an X.509-SVID: its single URI SAN, parsed.
pub fn svid_spiffe_id(cert: &X509Certificate<'_>) -> Result<SpiffeId, SanError> {
    match uri_sans(cert)?.as_slice() {
        [] => Err(SanError::NoUriSan),
        [one] => Ok(SpiffeId::parse(one)?),
        several => Err(SanError::SeveralUriSans {
            count: several.len(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    /// A self-signed certificate with `uris` as URI SANs.
    fn cert_with(uris: &[&str]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = uris
            .iter()
            .map(|u| rcgen::SanType::URI((*u).try_into().unwrap()))
            .collect();
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn parsed(der: &[u8]) -> X509Certificate<'_> {
        X509Certificate::from_der(der).unwrap().1
    }

    #[test]
    fn one_uri_san_is_the_spiffe_id() {
        let der = cert_with(&["spiffe://example.org/web"]);
        assert_eq!(
            svid_spiffe_id(&parsed(&der)).unwrap().as_str(),
            "spiffe://example.org/web"
        );
    }

    #[test]
    fn none_several_or_invalid_are_refused() {
        let none = cert_with(&[]);
        assert_eq!(svid_spiffe_id(&parsed(&none)), Err(SanError::NoUriSan));
        let two = cert_with(&["spiffe://example.org/a", "spiffe://example.org/b"]);
        assert_eq!(
            svid_spiffe_id(&parsed(&two)),
            Err(SanError::SeveralUriSans { count: 2 })
        );
        let bad = cert_with(&["https://example.org/a"]);
        assert!(matches!(
            svid_spiffe_id(&parsed(&bad)),
            Err(SanError::NotASpiffeId(_))
        ));
    }
}
