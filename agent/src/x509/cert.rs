//! The facts the agent reads from certificates.

use std::time::SystemTime;

use tessera_proto::clock::from_unix_seconds;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A certificate or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum X509Error {
    /// The DER does not parse as a certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The chain is empty.
    #[error("empty certificate chain")]
    EmptyChain,
    /// Path validation against the bundle failed.
    #[error("certificate chain does not verify against the bundle: {0}")]
    Untrusted(String),
    /// The leaf does not carry the expected SPIFFE ID or key.
    #[error("{0}")]
    Mismatch(String),
    /// Key generation or signing failed.
    #[error("crypto: {0}")]
    Crypto(String),
}

/// What the agent needs to know about a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFacts {
    /// Every URI SAN.
    pub uris: Vec<String>,
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
    /// The authority key identifier, if any.
    pub authority_key_id: Option<Vec<u8>>,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

impl LeafFacts {
    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, X509Error> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| X509Error::Malformed(e.to_string()))?;
        let uris = tessera_proto::x509_san::uri_sans(&cert)
            .map_err(|e| X509Error::Malformed(e.to_string()))?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut authority_key_id = None;
        for ext in cert.extensions() {
            if let ParsedExtension::AuthorityKeyIdentifier(aki) = ext.parsed_extension() {
                authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
        }
        Ok(Self {
            uris,
            not_before: from_unix_seconds(cert.validity().not_before.timestamp()),
            not_after: from_unix_seconds(cert.validity().not_after.timestamp()),
            authority_key_id,
            spki: cert.public_key().raw.to_vec(),
        })
    }

    /// The SPIFFE ID: the only URI SAN.
    pub fn spiffe_id(&self) -> Result<&str, X509Error> {
        match self.uris.as_slice() {
            [one] => Ok(one),
            other => Err(X509Error::Mismatch(format!(
                "expected exactly one URI SAN, found {}",
                other.len()
            ))),
        }
    }
}

/// The subject key identifier of a DER certificate, if it has one.
pub fn subject_key_id(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
            _ => None,
        })
}
