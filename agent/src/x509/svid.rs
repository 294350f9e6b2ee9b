//! An X.509-SVID with the private key the agent generated for it.

use std::fmt;
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::{LeafFacts, X509Error};

/// An X.509-SVID (chain, leaf first) and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SvidWithKey {
    /// The SPIFFE ID in the leaf.
    pub spiffe_id: String,
    /// DER certificates, leaf first, then intermediates.
    pub cert_chain: Vec<Vec<u8>>,
    /// PKCS#8 DER private key.
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
    /// The leaf's notBefore.
    pub issued_at: SystemTime,
    /// The leaf's notAfter.
    pub expires_at: SystemTime,
}

impl fmt::Debug for SvidWithKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SvidWithKey")
            .field("spiffe_id", &self.spiffe_id)
            .field("cert_chain_len", &self.cert_chain.len())
            .field("private_key_pkcs8", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl SvidWithKey {
    /// Builds an SVID from a chain and key, reading the leaf's SPIFFE ID and validity.
    /// `public_key_spki`, when given, must match the leaf's key.
    pub fn from_parts(
        cert_chain: Vec<Vec<u8>>,
        private_key_pkcs8: Zeroizing<Vec<u8>>,
        public_key_spki: Option<&[u8]>,
    ) -> Result<Self, X509Error> {
        let leaf = cert_chain.first().ok_or(X509Error::EmptyChain)?;
        let facts = LeafFacts::parse(leaf)?;
        if public_key_spki.is_some_and(|spki| facts.spki != spki) {
            return Err(X509Error::Mismatch(
                "the certificate does not certify the key we generated".into(),
            ));
        }
        Ok(Self {
            spiffe_id: facts.spiffe_id()?.to_owned(),
            issued_at: facts.not_before,
            expires_at: facts.not_after,
            cert_chain,
            private_key_pkcs8,
        })
    }

    /// The leaf certificate (DER).
    pub fn leaf(&self) -> &[u8] {
        self.cert_chain
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// True when the SVID is no longer valid at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}
