//! Test support: a throwaway CA that issues SVIDs the way the server does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType, SubjectPublicKeyInfo,
};
use tessera_proto::clock::unix_seconds;
use tessera_proto::wire::tessera::types::v1::{Bundle, X509Authority};
use zeroize::Zeroizing;

use crate::x509::{SvidWithKey, generate_key};

/// A root CA for one trust domain.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (DER).
    pub cert_der: Vec<u8>,
    /// The trust domain.
    pub td: String,
}

fn time(t: SystemTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds(t)).unwrap()
}

impl TestCa {
    /// A fresh CA valid for a day around `now`.
    pub fn new(td: &str, now: SystemTime) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("test CA {}", rand_serial()));
        params.subject_alt_names = vec![SanType::URI(format!("spiffe://{td}").try_into().unwrap())];
        params.not_before = time(now - Duration::from_secs(3600));
        params.not_after = time(now + Duration::from_secs(86_400));
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert_der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
            td: td.into(),
        }
    }

    /// A bundle holding just this CA.
    pub fn bundle(&self) -> Bundle {
        Bundle {
            trust_domain: self.td.clone(),
            x509_authorities: vec![X509Authority {
                asn1: self.cert_der.clone(),
                tainted: false,
            }],
            sequence: 1,
            ..Bundle::default()
        }
    }

    /// A leaf for `spki` naming `id`, valid over `[not_before, not_after]`.
    pub fn issue(
        &self,
        spki: &impl PublicKeyData,
        id: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::URI(id.try_into().unwrap())];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = time(not_before);
        params.not_after = time(not_after);
        params.signed_by(spki, &self.issuer).unwrap().der().to_vec()
    }

    /// A leaf for the public key in a DER SPKI.
    pub fn issue_for_spki(
        &self,
        spki_der: &[u8],
        id: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Vec<u8> {
        let spki = SubjectPublicKeyInfo::from_der(spki_der).unwrap();
        self.issue(&spki, id, not_before, not_after)
    }

    /// A leaf for the key in a PKCS#10 CSR.
    pub fn issue_for_csr(
        &self,
        csr: &[u8],
        id: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Vec<u8> {
        let der = rustls::pki_types::CertificateSigningRequestDer::from(csr);
        let req = rcgen::CertificateSigningRequestParams::from_der(&der).unwrap();
        self.issue(&req.public_key, id, not_before, not_after)
    }

    /// A new key and an SVID for it.
    pub fn svid(&self, id: &str, not_before: SystemTime, not_after: SystemTime) -> SvidWithKey {
        let key = generate_key().unwrap();
        let cert = self.issue_for_spki(&key.public_key_spki, id, not_before, not_after);
        SvidWithKey::from_parts(vec![cert], key.private_key_pkcs8, None).unwrap()
    }

    /// A new key (PKCS#8 DER) and a certificate for it naming `id`.
    pub fn key_and_cert(&self, id: &str, now: SystemTime) -> (Zeroizing<Vec<u8>>, Vec<u8>) {
        let svid = self.svid(
            id,
            now - Duration::from_secs(60),
            now + Duration::from_secs(3600),
        );
        (svid.private_key_pkcs8.clone(), svid.cert_chain[0].clone())
    }
}

fn rand_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
