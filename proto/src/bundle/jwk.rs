//! Public keys as JWK parameters (RFC 7517 / RFC 7518 §6): EC P-256/384/521 and RSA.

use std::fmt;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{BundleError, KeyError};
use crate::identity::excerpt;

/// base64url for key parameters: written without padding (RFC 7515 §2); trailing `=` tolerated
/// when reading.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The elliptic curves a JWK `crv` may name here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl EcCurve {
    /// The JWK `crv` name: `P-256`, `P-384` or `P-521`.
    pub fn jwk_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    /// Looks a curve up by its JWK `crv` name (case-sensitive).
    pub fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            "P-521" => Some(Self::P521),
            _ => None,
        }
    }

    /// Length in bytes of one coordinate (`x` or `y`): 32, 48 or 66.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
}

impl fmt::Display for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jwk_name())
    }
}

/// A public key in JWK terms. Byte fields hold the raw big-endian values (not base64).
///
/// RSA values are kept without leading zero bytes (the minimal form RFC 7518 requires), so two
/// equal keys compare equal whatever their source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublicJwk {
    /// `kty: EC` with an uncompressed point split into coordinates.
    Ec {
        /// The curve.
        crv: EcCurve,
        /// X coordinate, exactly `crv.coordinate_len()` bytes.
        x: Vec<u8>,
        /// Y coordinate, exactly `crv.coordinate_len()` bytes.
        y: Vec<u8>,
    },
    /// `kty: RSA`.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
}

impl PublicJwk {
    /// The JWK `kty`: `EC` or `RSA`.
    pub fn kty(&self) -> &'static str {
        match self {
            Self::Ec { .. } => "EC",
            Self::Rsa { .. } => "RSA",
        }
    }

    /// Checks the invariants a parsed key always satisfies: full-length EC coordinates,
    /// non-zero RSA parameters.
    pub fn validate(&self) -> Result<(), KeyError> {
        match self {
            Self::Ec { crv, x, y } => {
                check_coordinate("x", *crv, x)?;
                check_coordinate("y", *crv, y)
            }
            Self::Rsa { n, e } => {
                check_rsa("n", n)?;
                check_rsa("e", e)
            }
        }
    }

    /// The JWK members for this key (`kty`, then `crv`/`x`/`y` or `n`/`e`, base64url without
    /// padding). Callers add `use`, `kid`, `x5c`.
    pub fn to_json_members(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("kty".into(), Value::from(self.kty()));
        match self {
            Self::Ec { crv, x, y } => {
                m.insert("crv".into(), Value::from(crv.jwk_name()));
                m.insert("x".into(), Value::from(B64URL.encode(x)));
                m.insert("y".into(), Value::from(B64URL.encode(y)));
            }
            Self::Rsa { n, e } => {
                m.insert("n".into(), Value::from(B64URL.encode(strip_zeros(n))));
                m.insert("e".into(), Value::from(B64URL.encode(strip_zeros(e))));
            }
        }
        m
    }

    /// This key as a compact JWK JSON object, e.g. `{"crv":"P-256","kty":"EC","x":…,"y":…}`.
    pub fn to_json(&self) -> String {
        Value::Object(self.to_json_members()).to_string()
    }

    /// Parses a standalone JWK (`kty` `EC` or `RSA`; other members such as `use`, `kid` are
    /// ignored).
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        let value: Value = serde_json::from_slice(json).map_err(|e| BundleError::NotJson {
            reason: e.to_string(),
        })?;
        let obj = value
            .as_object()
            .ok_or(BundleError::PublicKey(KeyError::NotAnObject))?;
        Self::from_object(obj).map_err(BundleError::PublicKey)
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Self, KeyError> {
        let kty = str_member(obj, "kty")?;
        Self::from_json_members(kty, obj)?.ok_or_else(|| KeyError::UnsupportedKeyType {
            kty: excerpt(kty, 32),
        })
    }

    /// Reads the key parameters for `kty` from a JWK object. `Ok(None)` means the key type is
    /// not one we know (a bundle ignores such keys).
    pub(crate) fn from_json_members(
        kty: &str,
        obj: &Map<String, Value>,
    ) -> Result<Option<Self>, KeyError> {
        match kty {
            "EC" => {
                let crv_name = str_member(obj, "crv")?;
                let crv =
                    EcCurve::from_jwk_name(crv_name).ok_or_else(|| KeyError::UnsupportedCurve {
                        crv: excerpt(crv_name, 32),
                    })?;
                let x = b64url_member(obj, "x")?;
                check_coordinate("x", crv, &x)?;
                let y = b64url_member(obj, "y")?;
                check_coordinate("y", crv, &y)?;
                Ok(Some(Self::Ec { crv, x, y }))
            }
            "RSA" => {
                let n = strip_zeros(&b64url_member(obj, "n")?).to_vec();
                check_rsa("n", &n)?;
                let e = strip_zeros(&b64url_member(obj, "e")?).to_vec();
                check_rsa("e", &e)?;
                Ok(Some(Self::Rsa { n, e }))
            }
            _ => Ok(None),
        }
    }
}

/// The string member `name` of a JWK object.
pub(crate) fn str_member<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, KeyError> {
    match obj.get(name) {
        None => Err(KeyError::MissingMember { name }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(KeyError::MemberNotString { name }),
    }
}

fn b64url_member(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    B64URL
        .decode(str_member(obj, name)?)
        .map_err(|e| KeyError::Base64Url {
            name,
            reason: e.to_string(),
        })
}

fn check_coordinate(name: &'static str, curve: EcCurve, value: &[u8]) -> Result<(), KeyError> {
    if value.len() == curve.coordinate_len() {
        Ok(())
    } else {
        Err(KeyError::CoordinateLength {
            name,
            curve,
            expected: curve.coordinate_len(),
            found: value.len(),
        })
    }
}

fn check_rsa(name: &'static str, value: &[u8]) -> Result<(), KeyError> {
    if strip_zeros(value).is_empty() {
        Err(KeyError::ZeroRsaParameter { name })
    } else {
        Ok(())
    }
}

/// Drops leading zero bytes (minimal big-endian form).
pub(crate) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

impl Serialize for PublicJwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_members().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicJwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let obj = Map::<String, Value>::deserialize(deserializer)?;
        Self::from_object(&obj).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bundle::test_certs::{EC_CERT_1_X, EC_CERT_1_Y};
    use serde_json::json;

    fn ec_p256() -> PublicJwk {
        PublicJwk::Ec {
            crv: EcCurve::P256,
            x: B64URL.decode(EC_CERT_1_X).unwrap(),
            y: B64URL.decode(EC_CERT_1_Y).unwrap(),
        }
    }

    fn parse(v: Value) -> Result<PublicJwk, BundleError> {
        PublicJwk::from_json(v.to_string().as_bytes())
    }

    #[test]
    fn curves() {
        for (c, name, len) in [
            (EcCurve::P256, "P-256", 32),
            (EcCurve::P384, "P-384", 48),
            (EcCurve::P521, "P-521", 66),
        ] {
            assert_eq!(c.jwk_name(), name);
            assert_eq!(c.to_string(), name);
            assert_eq!(EcCurve::from_jwk_name(name), Some(c));
            assert_eq!(c.coordinate_len(), len);
        }
        for bad in ["p-256", "P256", "secp256k1", "Ed25519", ""] {
            assert_eq!(EcCurve::from_jwk_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn ec_json_round_trip_uses_unpadded_base64url() {
        let key = ec_p256();
        let v: Value = serde_json::from_str(&key.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"kty": "EC", "crv": "P-256", "x": EC_CERT_1_X, "y": EC_CERT_1_Y})
        );
        assert!(!key.to_json().contains('='));
        assert_eq!(PublicJwk::from_json(key.to_json().as_bytes()).unwrap(), key);
        assert_eq!(key.kty(), "EC");
        assert_eq!(key.validate(), Ok(()));
    }

    #[test]
    fn rsa_json_strips_leading_zeros() {
        let key = PublicJwk::Rsa {
            n: vec![0, 0, 0xc3, 0x01],
            e: vec![0, 1, 0, 1],
        };
        let v: Value = serde_json::from_str(&key.to_json()).unwrap();
        assert_eq!(v, json!({"kty": "RSA", "n": "wwE", "e": "AQAB"}));
        // Reading strips zeros too, so a padded encoding equals the minimal one.
        let padded = parse(json!({"kty": "RSA", "n": "AADDAQ", "e": "AAEAAQ"})).unwrap();
        assert_eq!(
            padded,
            PublicJwk::Rsa {
                n: vec![0xc3, 0x01],
                e: vec![1, 0, 1]
            }
        );
        assert_eq!(padded.kty(), "RSA");
    }

    #[test]
    fn tolerates_padding_and_extra_members() {
        let with_pad = json!({"kty": "RSA", "n": "ww==", "e": "AQAB", "use": "sig", "kid": "k", "alg": "RS256"});
        assert_eq!(
            parse(with_pad).unwrap(),
            PublicJwk::Rsa {
                n: vec![0xc3],
                e: vec![1, 0, 1]
            }
        );
    }

    #[test]
    fn rejects_each_problem() {
        let x = EC_CERT_1_X;
        let y = EC_CERT_1_Y;
        let short = B64URL.encode([1u8; 31]);
        #[rustfmt::skip]
        let cases: Vec<(Value, KeyError)> = vec![
            (json!({"crv": "P-256", "x": x, "y": y}), KeyError::MissingMember { name: "kty" }),
            (json!({"kty": 1}), KeyError::MemberNotString { name: "kty" }),
            (json!({"kty": "OKP", "crv": "Ed25519"}), KeyError::UnsupportedKeyType { kty: "OKP".into() }),
            (json!({"kty": "oct", "k": "AAAA"}), KeyError::UnsupportedKeyType { kty: "oct".into() }),
            (json!({"kty": "EC", "x": x, "y": y}), KeyError::MissingMember { name: "crv" }),
            (json!({"kty": "EC", "crv": "secp256k1", "x": x, "y": y}), KeyError::UnsupportedCurve { crv: "secp256k1".into() }),
            (json!({"kty": "EC", "crv": "P-256", "y": y}), KeyError::MissingMember { name: "x" }),
            (json!({"kty": "EC", "crv": "P-256", "x": x}), KeyError::MissingMember { name: "y" }),
            (json!({"kty": "EC", "crv": "P-256", "x": 5, "y": y}), KeyError::MemberNotString { name: "x" }),
            (json!({"kty": "EC", "crv": "P-256", "x": short, "y": y}),
             KeyError::CoordinateLength { name: "x", curve: EcCurve::P256, expected: 32, found: 31 }),
            (json!({"kty": "EC", "crv": "P-384", "x": x, "y": y}),
             KeyError::CoordinateLength { name: "x", curve: EcCurve::P384, expected: 48, found: 32 }),
            (json!({"kty": "EC", "crv": "P-256", "x": x, "y": short}),
             KeyError::CoordinateLength { name: "y", curve: EcCurve::P256, expected: 32, found: 31 }),
            (json!({"kty": "RSA", "e": "AQAB"}), KeyError::MissingMember { name: "n" }),
            (json!({"kty": "RSA", "n": "ww"}), KeyError::MissingMember { name: "e" }),
            (json!({"kty": "RSA", "n": "", "e": "AQAB"}), KeyError::ZeroRsaParameter { name: "n" }),
            (json!({"kty": "RSA", "n": "AAAA", "e": "AQAB"}), KeyError::ZeroRsaParameter { name: "n" }),
            (json!({"kty": "RSA", "n": "ww", "e": "AA"}), KeyError::ZeroRsaParameter { name: "e" }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse(input.clone()).unwrap_err(),
                BundleError::PublicKey(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_bad_base64url() {
        for bad in ["a+b/", "a b", "!!!!", "a"] {
            let err = parse(json!({"kty": "RSA", "n": bad, "e": "AQAB"})).unwrap_err();
            assert!(
                matches!(
                    err,
                    BundleError::PublicKey(KeyError::Base64Url { name: "n", .. })
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn from_json_rejects_non_objects() {
        assert!(matches!(
            PublicJwk::from_json(b"{").unwrap_err(),
            BundleError::NotJson { .. }
        ));
        assert_eq!(
            PublicJwk::from_json(b"[]").unwrap_err(),
            BundleError::PublicKey(KeyError::NotAnObject)
        );
    }

    #[test]
    fn validate_catches_hand_built_keys() {
        let bad = PublicJwk::Ec {
            crv: EcCurve::P521,
            x: vec![0; 66],
            y: vec![0; 65],
        };
        assert_eq!(
            bad.validate(),
            Err(KeyError::CoordinateLength {
                name: "y",
                curve: EcCurve::P521,
                expected: 66,
                found: 65
            })
        );
        let bad = PublicJwk::Rsa {
            n: vec![0, 0],
            e: vec![1],
        };
        assert_eq!(
            bad.validate(),
            Err(KeyError::ZeroRsaParameter { name: "n" })
        );
    }

    #[test]
    fn serde_matches_to_json() {
        let key = ec_p256();
        assert_eq!(serde_json::to_string(&key).unwrap(), key.to_json());
        let back: PublicJwk = serde_json::from_str(&key.to_json()).unwrap();
        assert_eq!(back, key);
        let err = serde_json::from_str::<PublicJwk>(r#"{"kty":"EC","crv":"P-999"}"#).unwrap_err();
        assert!(err.to_string().contains("P-999"), "{err}");
    }

    #[test]
    fn strip_zeros_handles_edges() {
        assert_eq!(strip_zeros(&[]), &[] as &[u8]);
        assert_eq!(strip_zeros(&[0, 0]), &[] as &[u8]);
        assert_eq!(strip_zeros(&[0, 1, 0]), &[1, 0]);
        assert_eq!(strip_zeros(&[5]), &[5]);
    }
}
