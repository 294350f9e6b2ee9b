//! An upstream authority from PEM files: every replica mints its own intermediate under it.

use std::fs;
use std::path::Path;

use rcgen::{Issuer, KeyPair, PublicKeyData};
use x509_parser::prelude::*;

use super::CaError;
use super::x509::subject_key_id;

/// The upstream signing certificate and key, its chain, and the trust anchors.
pub struct UpstreamAuthority {
    key: KeyPair,
    cert: Vec<u8>,
    /// Intermediates between `cert` and the roots (from the cert file, after the first).
    chain: Vec<Vec<u8>>,
    roots: Vec<Vec<u8>>,
    authority_id: String,
    not_after: std::time::SystemTime,
}

impl std::fmt::Debug for UpstreamAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamAuthority")
            .field("authority_id", &self.authority_id)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn read_certs(path: &Path) -> Result<Vec<Vec<u8>>, CaError> {
    let shown = path.display();
    let text =
        fs::read(path).map_err(|e| CaError::Upstream(format!("cannot read {shown}: {e}")))?;
    let blocks = ::pem::parse_many(&text)
        .map_err(|e| CaError::Upstream(format!("{shown} is not valid PEM: {e}")))?;
    let mut certs = Vec::new();
    for (i, block) in blocks.into_iter().enumerate() {
        if block.tag() != "CERTIFICATE" {
            return Err(CaError::Upstream(format!(
                "{shown}: PEM block {i} is {:?}, expected CERTIFICATE",
                block.tag()
            )));
        }
        X509Certificate::from_der(block.contents()).map_err(|e| {
            CaError::Upstream(format!("{shown}: certificate {i} does not parse: {e}"))
        })?;
        certs.push(block.into_contents());
    }
    if certs.is_empty() {
        return Err(CaError::Upstream(format!("{shown} holds no certificate")));
    }
    Ok(certs)
}

impl UpstreamAuthority {
    /// Loads and checks the upstream files: the key must match the first certificate of
    /// `cert_file`, which must be a CA; without `bundle_file` it must be self-signed.
    pub fn load(
        cert_file: &Path,
        key_file: &Path,
        bundle_file: Option<&Path>,
    ) -> Result<Self, CaError> {
        let mut certs = read_certs(cert_file)?;
        let cert = certs.remove(0);
        let key_text =
            zeroize::Zeroizing::new(fs::read_to_string(key_file).map_err(|e| {
                CaError::Upstream(format!("cannot read {}: {e}", key_file.display()))
            })?);
        let key = KeyPair::from_pem(&key_text).map_err(|_| {
            CaError::Upstream(format!(
                "{} is not a PEM private key of a supported type (EC P-256/P-384, RSA)",
                key_file.display()
            ))
        })?;
        let (_, parsed) = X509Certificate::from_der(&cert)
            .map_err(|e| CaError::Upstream(format!("{}: {e}", cert_file.display())))?;
        if parsed.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(CaError::Upstream(format!(
                "{} does not match the certificate in {}",
                key_file.display(),
                cert_file.display()
            )));
        }
        let is_ca = matches!(parsed.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(CaError::Upstream(format!(
                "{}: the certificate is not a CA (basicConstraints cA is not true)",
                cert_file.display()
            )));
        }
        let roots = match bundle_file {
            Some(path) => read_certs(path)?,
            None if parsed.subject() == parsed.issuer() => vec![cert.clone()],
            None => {
                return Err(CaError::Upstream(format!(
                    "{} is not self-signed: set ca.upstream.bundle_file to its root certificates",
                    cert_file.display()
                )));
            }
        };
        let not_after = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(
                u64::try_from(parsed.validity().not_after.timestamp()).unwrap_or(0),
            );
        let authority_id = subject_key_id(&cert).unwrap_or_else(|_| "upstream".into());
        let chain = certs.into_iter().filter(|c| !roots.contains(c)).collect();
        Ok(Self {
            key,
            cert,
            chain,
            roots,
            authority_id,
            not_after,
        })
    }

    /// An rcgen issuer for signing intermediates.
    pub fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, CaError> {
        Issuer::from_ca_cert_der(&self.cert.as_slice().into(), &self.key)
            .map_err(|e| CaError::Upstream(format!("the upstream certificate: {e}")))
    }

    /// Certificates from the upstream signer up to (excluding) the roots.
    pub fn chain_to_roots(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if !self.roots.contains(&self.cert) {
            out.push(self.cert.clone());
        }
        out.extend(self.chain.iter().cloned());
        out
    }

    /// The trust anchors published in the X.509 bundle.
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.roots
    }

    /// The upstream certificate's subject key identifier (hex).
    pub fn authority_id(&self) -> &str {
        &self.authority_id
    }

    /// When the upstream certificate expires (intermediates never outlive it).
    pub fn not_after(&self) -> std::time::SystemTime {
        self.not_after
    }
}
