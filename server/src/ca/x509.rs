//! Certificate templates: CA certificates and X.509-SVIDs, exactly per the X.509-SVID spec.

use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SigningKey,
};
use tessera_proto::identity::{SpiffeId, TrustDomain};
use time::OffsetDateTime;

use super::CaError;

/// Organisation written into every certificate subject Tessera mints.
const ORGANIZATION: &str = "Tessera";

/// A fresh random positive 128-bit serial number.
pub fn random_serial() -> Result<Vec<u8>, CaError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| CaError::Crypto("random generation failed".into()))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01; // keep the full length: never a leading zero byte
    Ok(serial.to_vec())
}

fn offset(t: SystemTime) -> Result<OffsetDateTime, CaError> {
    Ok(OffsetDateTime::from(t))
}

fn uri_san(id: &str) -> Result<SanType, CaError> {
    let uri = id
        .try_into()
        .map_err(|_| CaError::InvalidRequest(format!("{id} is not an IA5 string")))?;
    Ok(SanType::URI(uri))
}

fn ca_params(
    trust_domain: &TrustDomain,
    serial: Vec<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, format!("{trust_domain} CA"));
    // The certificate serial repeated in the subject: every CA's subject is unique.
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), hex::encode(&serial));
    params.distinguished_name = dn;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = offset(not_before)?;
    params.not_after = offset(not_after)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.subject_alt_names = vec![uri_san(SpiffeId::for_trust_domain(trust_domain).as_str())?];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// A self-signed root CA certificate for the trust domain.
pub fn self_signed_ca(
    trust_domain: &TrustDomain,
    key: &KeyPair,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Vec<u8>, CaError> {
    let mut params = ca_params(trust_domain, random_serial()?, not_before, not_after)?;
    params.use_authority_key_identifier_extension = false;
    let cert = params
        .self_signed(key)
        .map_err(|e| CaError::Crypto(format!("self-signing the CA: {e}")))?;
    Ok(cert.der().to_vec())
}

/// An intermediate CA certificate for the trust domain, signed by `issuer`.
pub fn intermediate_ca(
    trust_domain: &TrustDomain,
    key: &KeyPair,
    issuer: &Issuer<'_, impl SigningKey>,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Vec<u8>, CaError> {
    let params = ca_params(trust_domain, random_serial()?, not_before, not_after)?;
    let cert = params
        .signed_by(key, issuer)
        .map_err(|e| CaError::Crypto(format!("signing the intermediate CA: {e}")))?;
    Ok(cert.der().to_vec())
}

/// A public key given as DER SubjectPublicKeyInfo.
#[derive(Debug)]
pub struct SpkiKey(pub rcgen::SubjectPublicKeyInfo);

impl SpkiKey {
    /// Parses DER SubjectPublicKeyInfo (EC P-256/P-384 or RSA).
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        rcgen::SubjectPublicKeyInfo::from_der(der)
            .map(Self)
            .map_err(|_| {
                CaError::InvalidRequest("public key is not a supported SubjectPublicKeyInfo".into())
            })
    }
}

impl PublicKeyData for SpkiKey {
    fn der_bytes(&self) -> &[u8] {
        self.0.der_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.algorithm()
    }
}

/// An X.509-SVID leaf: one URI SAN, cA=false, KU critical digitalSignature |
/// keyEncipherment | keyAgreement, EKU serverAuth + clientAuth, CN = first DNS name.
pub fn x509_svid(
    spiffe_id: &SpiffeId,
    public_key: &SpkiKey,
    dns_names: &[String],
    ip_addresses: &[std::net::IpAddr],
    issuer: &Issuer<'_, impl SigningKey>,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Vec<u8>, CaError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    if let Some(first) = dns_names.first() {
        dn.push(DnType::CommonName, first.as_str());
    }
    params.distinguished_name = dn;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.not_before = offset(not_before)?;
    params.not_after = offset(not_after)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let mut sans = vec![uri_san(spiffe_id.as_str())?];
    for name in dns_names {
        let dns = name
            .as_str()
            .try_into()
            .map_err(|_| CaError::InvalidRequest(format!("DNS name {name:?} is not valid")))?;
        sans.push(SanType::DnsName(dns));
    }
    sans.extend(ip_addresses.iter().map(|ip| SanType::IpAddress(*ip)));
    params.subject_alt_names = sans;
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(public_key, issuer)
        .map_err(|e| CaError::Crypto(format!("signing the X.509-SVID: {e}")))?;
    Ok(cert.der().to_vec())
}

/// The hex subject key identifier of a certificate, used as its authority ID.
pub fn subject_key_id(cert_der: &[u8]) -> Result<String, CaError> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| CaError::Crypto(format!("parsing a CA certificate: {e}")))?;
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectKeyIdentifier(ski) = ext.parsed_extension() {
            return Ok(hex::encode(ski.0));
        }
    }
    Err(CaError::Crypto(
        "CA certificate has no subject key identifier".into(),
    ))
}
