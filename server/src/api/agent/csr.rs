//! PKCS#10 CSRs from agents: the signature must verify; only the public key is used.

use tonic::Status;
use x509_parser::prelude::*;

/// Largest CSR accepted (a P-384 or RSA-4096 CSR is well under this).
const MAX_CSR_BYTES: usize = 8 * 1024;

/// Verifies the CSR's self-signature and returns its DER SubjectPublicKeyInfo.
pub fn public_key(csr: &[u8]) -> Result<Vec<u8>, Status> {
    if csr.is_empty() {
        return Err(Status::invalid_argument("csr is required"));
    }
    if csr.len() > MAX_CSR_BYTES {
        return Err(Status::invalid_argument(format!(
            "csr is {} bytes; at most {MAX_CSR_BYTES} are accepted",
            csr.len()
        )));
    }
    let (rest, req) = X509CertificationRequest::from_der(csr)
        .map_err(|_| Status::invalid_argument("csr is not a DER PKCS#10 request"))?;
    if !rest.is_empty() {
        return Err(Status::invalid_argument("csr has trailing bytes"));
    }
    req.verify_signature()
        .map_err(|_| Status::invalid_argument("csr signature does not verify"))?;
    Ok(req.certification_request_info.subject_pki.raw.to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn csr() -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let csr = params.serialize_request(&key).unwrap();
        use rcgen::PublicKeyData;
        (csr.der().to_vec(), key.subject_public_key_info())
    }

    #[test]
    fn a_valid_csr_yields_its_public_key() {
        let (der, spki) = csr();
        assert_eq!(public_key(&der).unwrap(), spki);
    }

    #[test]
    fn a_tampered_empty_or_huge_csr_is_refused() {
        let (mut der, _) = csr();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert_eq!(
            public_key(&der).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert!(public_key(&[]).is_err());
        assert!(public_key(&[0x30; 9000]).is_err());
        assert!(public_key(b"garbage").is_err());
    }
}
