//! From DER (SubjectPublicKeyInfo or a whole certificate) to [`PublicJwk`].

use x509_parser::der_parser::oid::Oid;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::error::{BundleError, KeyError};
use super::jwk::{EcCurve, PublicJwk, strip_zeros};

impl PublicJwk {
    /// Converts a DER SubjectPublicKeyInfo: EC P-256/P-384/P-521 (uncompressed point, split
    /// into `x`/`y` by curve size) or RSA (`rsaEncryption`; `n`/`e` without leading zeros).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, BundleError> {
        spki_key(der).map_err(BundleError::PublicKey)
    }

    /// The public key of a DER X.509 certificate, as [`PublicJwk::from_spki_der`] would give.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, BundleError> {
        certificate_key(der).map_err(BundleError::PublicKey)
    }
}

/// The key of a DER certificate; the certificate must be the whole input.
pub(crate) fn certificate_key(der: &[u8]) -> Result<PublicJwk, KeyError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| KeyError::BadCertificate {
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(KeyError::BadCertificate {
            reason: format!("{} unexpected bytes after the certificate", rest.len()),
        });
    }
    key_of(cert.public_key())
}

fn spki_key(der: &[u8]) -> Result<PublicJwk, KeyError> {
    let (rest, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|e| KeyError::BadSpki {
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(KeyError::BadSpki {
            reason: format!(
                "{} unexpected bytes after the SubjectPublicKeyInfo",
                rest.len()
            ),
        });
    }
    key_of(&spki)
}

fn key_of(spki: &SubjectPublicKeyInfo<'_>) -> Result<PublicJwk, KeyError> {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let params = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or(KeyError::MissingCurveParameter)?;
        let curve_oid = Oid::try_from(params).map_err(|_| KeyError::MissingCurveParameter)?;
        let crv = curve_of(&curve_oid)?;
        ec_point(crv, &spki.subject_public_key.data)
    } else if *algorithm == OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let n = strip_zeros(rsa.modulus).to_vec();
                let e = strip_zeros(rsa.exponent).to_vec();
                let key = PublicJwk::Rsa { n, e };
                key.validate()?;
                Ok(key)
            }
            Ok(_) => Err(KeyError::BadSpki {
                reason: "rsaEncryption key is not an RSAPublicKey".into(),
            }),
            Err(e) => Err(KeyError::BadSpki {
                reason: e.to_string(),
            }),
        }
    } else {
        Err(KeyError::UnsupportedKeyAlgorithm {
            oid: algorithm.to_id_string(),
        })
    }
}

fn curve_of(oid: &Oid<'_>) -> Result<EcCurve, KeyError> {
    if *oid == OID_EC_P256 {
        Ok(EcCurve::P256)
    } else if *oid == OID_NIST_EC_P384 {
        Ok(EcCurve::P384)
    } else if *oid == OID_NIST_EC_P521 {
        Ok(EcCurve::P521)
    } else {
        Err(KeyError::UnsupportedCurve {
            crv: oid.to_id_string(),
        })
    }
}

/// Splits an uncompressed SEC1 point `0x04 || X || Y`.
fn ec_point(crv: EcCurve, point: &[u8]) -> Result<PublicJwk, KeyError> {
    let len = crv.coordinate_len();
    match point.split_first() {
        Some((0x04, xy)) if xy.len() == 2 * len => {
            let (x, y) = xy.split_at(len);
            Ok(PublicJwk::Ec {
                crv,
                x: x.to_vec(),
                y: y.to_vec(),
            })
        }
        Some((0x04, _)) => Err(KeyError::PointLength {
            curve: crv,
            expected: 1 + 2 * len,
            found: point.len(),
        }),
        Some((&tag, _)) => Err(KeyError::UnsupportedPointFormat { tag }),
        None => Err(KeyError::UnsupportedPointFormat { tag: 0 }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bundle::test_certs::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn p256_spki_splits_point() {
        let key = PublicJwk::from_spki_der(&der(P256_SPKI)).unwrap();
        assert_eq!(
            key,
            PublicJwk::Ec {
                crv: EcCurve::P256,
                x: URL_SAFE_NO_PAD.decode(EC_CERT_1_X).unwrap(),
                y: URL_SAFE_NO_PAD.decode(EC_CERT_1_Y).unwrap(),
            }
        );
        // The certificate carries the same key.
        assert_eq!(
            PublicJwk::from_certificate_der(&der(EC_CERT_1)).unwrap(),
            key
        );
    }

    #[test]
    fn p384_and_p521_sizes() {
        for (spki, curve) in [(P384_SPKI, EcCurve::P384), (P521_SPKI, EcCurve::P521)] {
            match PublicJwk::from_spki_der(&der(spki)).unwrap() {
                PublicJwk::Ec { crv, x, y } => {
                    assert_eq!(crv, curve);
                    assert_eq!(x.len(), curve.coordinate_len());
                    assert_eq!(y.len(), curve.coordinate_len());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn rsa_spki_strips_leading_zero() {
        let key = PublicJwk::from_spki_der(&der(RSA_SPKI)).unwrap();
        match &key {
            PublicJwk::Rsa { n, e } => {
                assert_eq!(n.len(), 256, "2048-bit modulus without the DER sign byte");
                assert_ne!(n.first(), Some(&0));
                assert_eq!(e, &vec![1, 0, 1]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            PublicJwk::from_certificate_der(&der(RSA_CERT)).unwrap(),
            key
        );
    }

    #[test]
    fn rejects_unsupported_keys() {
        // A compressed point starts with 0x02 or 0x03 depending on the parity of y.
        assert!(matches!(
            PublicJwk::from_spki_der(&der(P256_COMPRESSED_SPKI)).unwrap_err(),
            BundleError::PublicKey(KeyError::UnsupportedPointFormat { tag: 0x02 | 0x03 })
        ));
        assert_eq!(
            PublicJwk::from_spki_der(&der(SECP256K1_SPKI)).unwrap_err(),
            BundleError::PublicKey(KeyError::UnsupportedCurve {
                crv: "1.3.132.0.10".into()
            })
        );
        assert_eq!(
            PublicJwk::from_spki_der(&der(ED25519_SPKI)).unwrap_err(),
            BundleError::PublicKey(KeyError::UnsupportedKeyAlgorithm {
                oid: "1.3.101.112".into()
            })
        );
    }

    #[test]
    fn rejects_malformed_der() {
        let spki = der(P256_SPKI);
        for bad in [&[][..], &[0x30, 0x03, 0x01][..], &spki[..spki.len() - 1]] {
            assert!(
                matches!(
                    PublicJwk::from_spki_der(bad).unwrap_err(),
                    BundleError::PublicKey(KeyError::BadSpki { .. })
                ),
                "{bad:?}"
            );
        }
        let mut trailing = spki.clone();
        trailing.push(0);
        let err = PublicJwk::from_spki_der(&trailing).unwrap_err();
        assert!(err.to_string().contains("1 unexpected bytes"), "{err}");

        let cert = der(EC_CERT_1);
        assert!(matches!(
            PublicJwk::from_certificate_der(&cert[..100]).unwrap_err(),
            BundleError::PublicKey(KeyError::BadCertificate { .. })
        ));
        let mut trailing = cert.clone();
        trailing.extend_from_slice(&[1, 2]);
        let err = PublicJwk::from_certificate_der(&trailing).unwrap_err();
        assert!(err.to_string().contains("2 unexpected bytes"), "{err}");
        // An SPKI is not a certificate.
        assert!(PublicJwk::from_certificate_der(&spki).is_err());
    }

    #[test]
    fn ec_point_shapes() {
        let good = [vec![4u8], vec![7u8; 64]].concat();
        assert!(ec_point(EcCurve::P256, &good).is_ok());
        assert_eq!(
            ec_point(EcCurve::P256, &good[..64]).unwrap_err(),
            KeyError::PointLength {
                curve: EcCurve::P256,
                expected: 65,
                found: 64
            }
        );
        assert_eq!(
            ec_point(EcCurve::P384, &good).unwrap_err(),
            KeyError::PointLength {
                curve: EcCurve::P384,
                expected: 97,
                found: 65
            }
        );
        assert_eq!(
            ec_point(EcCurve::P256, &[]).unwrap_err(),
            KeyError::UnsupportedPointFormat { tag: 0 }
        );
        assert_eq!(
            ec_point(EcCurve::P256, &[6u8; 65]).unwrap_err(),
            KeyError::UnsupportedPointFormat { tag: 6 }
        );
    }
}
