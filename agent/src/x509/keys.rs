//! Fresh EC P-256 keys and PKCS#10 requests, generated on the agent.

use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
use zeroize::Zeroizing;

use super::X509Error;

/// A freshly generated key with its CSR.
pub struct NewKey {
    /// PKCS#8 DER of the private key.
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
    /// DER SubjectPublicKeyInfo.
    pub public_key_spki: Vec<u8>,
    /// PKCS#10 CSR (DER) signed with the key.
    pub csr: Vec<u8>,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("private_key_pkcs8", &"<redacted>")
            .field("csr_len", &self.csr.len())
            .finish()
    }
}

/// Generates an EC P-256 key and a CSR for it (the server only uses its public key).
pub fn generate_key() -> Result<NewKey, X509Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| X509Error::Crypto(format!("generating a P-256 key: {e}")))?;
    let params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| X509Error::Crypto(format!("CSR parameters: {e}")))?;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| X509Error::Crypto(format!("signing the CSR: {e}")))?;
    Ok(NewKey {
        private_key_pkcs8: Zeroizing::new(key.serialize_der()),
        public_key_spki: rcgen::PublicKeyData::subject_public_key_info(&key),
        csr: csr.der().to_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use x509_parser::prelude::FromDer;

    use super::*;

    #[test]
    fn csr_carries_the_generated_public_key() {
        let k = generate_key().unwrap();
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&k.csr).unwrap();
        assert_eq!(
            csr.certification_request_info.subject_pki.raw,
            k.public_key_spki.as_slice()
        );
        assert!(csr.verify_signature().is_ok());
        assert!(!format!("{k:?}").contains(&format!("{:?}", &k.private_key_pkcs8[..8])));
    }
}
