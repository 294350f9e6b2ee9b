//! Key types and private keys: generation, PKCS#8 handling, JWS signing.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::CaError;

/// The key types Tessera signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KeyType {
    /// ECDSA P-256 (ES256), the default.
    #[default]
    #[serde(rename = "ec-p256")]
    EcP256,
    /// ECDSA P-384 (ES384).
    #[serde(rename = "ec-p384")]
    EcP384,
    /// RSA 2048 (RS256).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA 4096 (RS256).
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl KeyType {
    /// Every key type, in documentation order.
    pub const ALL: [KeyType; 4] = [Self::EcP256, Self::EcP384, Self::Rsa2048, Self::Rsa4096];

    /// The configuration name (`ec-p256`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa4096 => "rsa-4096",
        }
    }

    /// The X.509 signature algorithm used with keys of this type.
    pub fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            Self::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::Rsa2048 | Self::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// The JWS `alg` used with keys of this type.
    pub fn jws_alg(self) -> &'static str {
        match self {
            Self::EcP256 => "ES256",
            Self::EcP384 => "ES384",
            Self::Rsa2048 | Self::Rsa4096 => "RS256",
        }
    }

    /// Generates a fresh private key of this type.
    pub fn generate(self) -> Result<PrivateKey, CaError> {
        let pair = match self {
            Self::EcP256 | Self::EcP384 => KeyPair::generate_for(self.signature_algorithm()),
            Self::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
            Self::Rsa4096 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
        }
        .map_err(|e| CaError::Crypto(format!("generating a {} key: {e}", self.name())))?;
        PrivateKey::from_pkcs8(self, Zeroizing::new(pair.serialize_der()))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("unknown key type {s:?} (expected ec-p256, ec-p384, rsa-2048 or rsa-4096)")
            })
    }
}

/// The JWS signer of a key, built once.
enum JwsSigner {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key: PKCS#8 DER kept in zeroizing memory, never printed.
pub struct PrivateKey {
    key_type: KeyType,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: KeyPair,
    jws: JwsSigner,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type)
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

impl PrivateKey {
    /// Loads a PKCS#8 DER private key of the given type.
    pub fn from_pkcs8(key_type: KeyType, pkcs8: Zeroizing<Vec<u8>>) -> Result<Self, CaError> {
        let bad =
            |what: &str| CaError::Crypto(format!("the stored {key_type} key is not valid: {what}"));
        let der = rustls_pki_der(&pkcs8);
        let pair = KeyPair::from_pkcs8_der_and_sign_algo(&der, key_type.signature_algorithm())
            .map_err(|_| bad("PKCS#8"))?;
        let jws = match key_type {
            KeyType::EcP256 => JwsSigner::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(|_| bad("P-256"))?,
            ),
            KeyType::EcP384 => JwsSigner::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &pkcs8)
                    .map_err(|_| bad("P-384"))?,
            ),
            KeyType::Rsa2048 | KeyType::Rsa4096 => {
                let rsa = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| bad("RSA"))?;
                let want = if key_type == KeyType::Rsa2048 {
                    256
                } else {
                    512
                };
                if rsa.public_modulus_len() != want {
                    return Err(bad("RSA modulus size"));
                }
                JwsSigner::Rsa(rsa)
            }
        };
        Ok(Self {
            key_type,
            pkcs8,
            pair,
            jws,
        })
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// PKCS#8 DER (for sealing at rest only).
    pub fn pkcs8(&self) -> &Zeroizing<Vec<u8>> {
        &self.pkcs8
    }

    /// The rcgen key pair, for signing certificates.
    pub fn key_pair(&self) -> &KeyPair {
        &self.pair
    }

    /// A fresh rcgen key pair of the same key (rcgen pairs are not `Clone`).
    pub fn clone_key_pair(&self) -> Result<KeyPair, CaError> {
        KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_der(&self.pkcs8),
            self.key_type.signature_algorithm(),
        )
        .map_err(|e| CaError::Crypto(format!("reloading a {} key: {e}", self.key_type)))
    }

    /// DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// Signs a JWS signing input (`header.payload`), returning the raw JWS signature
    /// (`r || s` for ECDSA, PKCS#1 v1.5 for RSA).
    pub fn sign_jws(&self, signing_input: &[u8]) -> Result<Vec<u8>, CaError> {
        let rng = SystemRandom::new();
        match &self.jws {
            JwsSigner::Ecdsa(k) => k
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CaError::Crypto("ECDSA signing failed".into())),
            JwsSigner::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, signing_input, &mut sig)
                    .map_err(|_| CaError::Crypto("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }

    /// The JWS public key bytes as aws-lc-rs reports them (used by tests).
    pub fn jws_public_key(&self) -> Vec<u8> {
        match &self.jws {
            JwsSigner::Ecdsa(k) => k.public_key().as_ref().to_vec(),
            JwsSigner::Rsa(k) => k.public_key().as_ref().to_vec(),
        }
    }
}

fn rustls_pki_der(pkcs8: &[u8]) -> rustls::pki_types::PrivatePkcs8KeyDer<'_> {
    rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_key_type_generates_signs_and_reloads() {
        for kt in KeyType::ALL {
            let key = kt.generate().unwrap();
            assert_eq!(key.key_type(), kt);
            let again = PrivateKey::from_pkcs8(kt, key.pkcs8().clone()).unwrap();
            assert_eq!(again.public_key_der(), key.public_key_der());
            let sig = key.sign_jws(b"a.b").unwrap();
            assert!(!sig.is_empty());
        }
    }

    #[test]
    fn key_type_names_round_trip_and_reject_unknown() {
        for kt in KeyType::ALL {
            assert_eq!(kt.name().parse::<KeyType>().unwrap(), kt);
        }
        let err = "ed25519".parse::<KeyType>().unwrap_err();
        assert!(err.contains("ed25519"));
    }

    #[test]
    fn a_key_of_the_wrong_type_is_refused() {
        let key = KeyType::EcP256.generate().unwrap();
        assert!(PrivateKey::from_pkcs8(KeyType::EcP384, key.pkcs8().clone()).is_err());
        assert!(PrivateKey::from_pkcs8(KeyType::EcP256, Zeroizing::new(vec![1, 2, 3])).is_err());
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = KeyType::EcP256.generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&format!("{:?}", &key.pkcs8()[..8])));
    }
}
