//! Test keys, JWS signing, bundles and certificates for the client-authentication tests
//! (also used by the router-level tests of the OAuth HTTP surface).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority, X509Authority};

/// DER SubjectPublicKeyInfo prefix of an uncompressed P-256 point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims` of a compact JWS.
pub(crate) fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

/// An ES256 key.
pub(crate) struct EcKey(EcdsaKeyPair);

impl EcKey {
    pub(crate) fn generate() -> Self {
        Self(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    /// A compact JWS over `header` and `claims`.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let sig = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    /// A compact JWS over header and claims given as JSON text (e.g. with a repeated member).
    pub(crate) fn sign_text(&self, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let sig = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    /// The public JWK with `kid` (and `alg` if given).
    pub(crate) fn jwk(&self, kid: Option<&str>, alg: Option<&str>) -> Value {
        let point = self.0.public_key().as_ref();
        let mut jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        });
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        if let Some(alg) = alg {
            jwk["alg"] = json!(alg);
        }
        jwk
    }

    /// DER SubjectPublicKeyInfo.
    pub(crate) fn spki(&self) -> Vec<u8> {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.0.public_key().as_ref());
        der
    }
}

/// An Ed25519 key (EdDSA).
pub(crate) struct EdKey(Ed25519KeyPair);

impl EdKey {
    pub(crate) fn generate() -> Self {
        Self(Ed25519KeyPair::generate().unwrap())
    }

    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let sig = self.0.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.as_ref()))
    }

    pub(crate) fn jwk(&self, kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(self.0.public_key().as_ref())})
    }
}

/// An HS256 JWS keyed with `secret`.
pub(crate) fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// A JWK set document of `keys`.
pub(crate) fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// A bundle for `trust_domain` with one JWT authority and the given X.509 authorities.
pub(crate) fn bundle(trust_domain: &str, jwt: Option<(&str, &EcKey)>, x509: &[&Ca]) -> Bundle {
    Bundle {
        trust_domain: trust_domain.into(),
        jwt_authorities: jwt
            .map(|(kid, key)| JwtAuthority {
                key_id: kid.into(),
                public_key: key.spki(),
                expires_at: 0,
                tainted: false,
            })
            .into_iter()
            .collect(),
        x509_authorities: x509
            .iter()
            .map(|ca| X509Authority {
                asn1: ca.der.clone(),
                tainted: false,
            })
            .collect(),
        sequence: 1,
        refresh_hint_seconds: 0,
    }
}

/// A self-signed CA for a trust domain.
pub(crate) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub(crate) der: Vec<u8>,
}

impl Ca {
    pub(crate) fn new(trust_domain: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, trust_domain);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.subject_alt_names = vec![SanType::URI(
            format!("spiffe://{trust_domain}").try_into().unwrap(),
        )];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Self { params, key, der }
    }

    /// A leaf with `uris` as URI SANs, `cn` as subject CN (plus `O=Example`), client-auth EKU
    /// when `client_auth`.
    pub(crate) fn leaf(
        &self,
        uris: &[&str],
        cn: &str,
        client_auth: bool,
    ) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = uris
            .iter()
            .map(|u| SanType::URI((*u).try_into().unwrap()))
            .collect();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = if client_auth {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        } else {
            vec![ExtendedKeyUsagePurpose::ServerAuth]
        };
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        CertificateDer::from(params.signed_by(&key, &issuer).unwrap().der().to_vec())
    }
}

/// Trust bundles fixed at construction; an empty list behaves like an unavailable store.
#[derive(Debug)]
pub(crate) struct FixedBundles(pub(crate) Vec<Bundle>);

impl crate::oauth::http::TrustBundles for FixedBundles {
    async fn bundles(&self) -> Result<Vec<Bundle>, String> {
        if self.0.is_empty() {
            return Err("bundle store down".into());
        }
        Ok(self.0.clone())
    }
}
