//! `BundleDocument`: a trust domain's authorities, and how it is written as a SPIFFE bundle
//! (SPIFFE Trust Domain and Bundle §4; X509-SVID §6.1; JWT-SVID §6).

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::{BundleError, KeyError};
use super::jwk::PublicJwk;
use super::spki::certificate_key;
use crate::identity::{TrustDomain, excerpt};

/// The `use` of X.509 CA entries.
pub const X509_SVID_USE: &str = "x509-svid";
/// The `use` of JWT signing key entries.
pub const JWT_SVID_USE: &str = "jwt-svid";

/// One JWT-SVID signing key: its key ID and public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwtAuthority {
    /// The `kid` JWT-SVIDs name in their header; non-empty and unique within a bundle.
    pub kid: String,
    /// The public key.
    pub key: PublicJwk,
}

/// The trust anchors of one trust domain: what a SPIFFE bundle carries.
///
/// The trust domain itself is not part of the JSON (SPIFFE bundles are stored and exchanged as
/// `<trust domain, bundle>` pairs); it is given to [`BundleDocument::parse`].
/// No `keys` at all — an empty bundle — is valid and means every authority was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleDocument {
    /// The trust domain the authorities are for.
    pub trust_domain: TrustDomain,
    /// `spiffe_sequence`: bumped on every change of the contents.
    pub sequence: Option<u64>,
    /// `spiffe_refresh_hint`, in seconds: how often consumers should re-fetch.
    pub refresh_hint: Option<u64>,
    /// X.509 CA certificates (DER), in order; each becomes one `x509-svid` key.
    pub x509_authorities: Vec<Vec<u8>>,
    /// JWT signing keys, in order; each becomes one `jwt-svid` key.
    pub jwt_authorities: Vec<JwtAuthority>,
}

impl BundleDocument {
    /// An empty bundle (no sequence, no refresh hint, no authorities) for `trust_domain`.
    pub fn new(trust_domain: TrustDomain) -> Self {
        Self {
            trust_domain,
            sequence: None,
            refresh_hint: None,
            x509_authorities: Vec::new(),
            jwt_authorities: Vec::new(),
        }
    }

    /// Whether the bundle holds no authority of either kind.
    pub fn is_empty(&self) -> bool {
        self.x509_authorities.is_empty() && self.jwt_authorities.is_empty()
    }

    /// The refresh hint as a `Duration`.
    pub fn refresh_hint_duration(&self) -> Option<Duration> {
        self.refresh_hint.map(Duration::from_secs)
    }

    /// The JWT authority with key ID `kid`, if any.
    pub fn jwt_authority(&self, kid: &str) -> Option<&JwtAuthority> {
        self.jwt_authorities.iter().find(|a| a.kid == kid)
    }

    /// The bundle as compact JSON (stable: same document, same bytes).
    ///
    /// Fails if an X.509 authority is not a parsable certificate with a supported key, if a
    /// certificate appears twice, or if a JWT authority has an empty or repeated `kid` or an
    /// invalid key — so whatever is emitted parses back.
    pub fn to_json(&self) -> Result<String, BundleError> {
        Ok(self.to_json_value()?.to_string())
    }

    /// The bundle as indented JSON (for files and humans).
    pub fn to_json_pretty(&self) -> Result<String, BundleError> {
        let value = self.to_json_value()?;
        // Serializing a `Value` to a `String` cannot fail; fall back to compact just in case.
        Ok(serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()))
    }

    /// The bundle as a JSON value: `{"keys": [...], "spiffe_sequence": …,
    /// "spiffe_refresh_hint": …}`, X.509 authorities first, then JWT authorities.
    pub fn to_json_value(&self) -> Result<Value, BundleError> {
        let mut keys = Vec::with_capacity(self.x509_authorities.len() + self.jwt_authorities.len());

        let mut seen_certs: HashMap<&[u8], usize> = HashMap::new();
        for (index, der) in self.x509_authorities.iter().enumerate() {
            let fail = |source| BundleError::X509Authority { index, source };
            if let Some(&first_index) = seen_certs.get(der.as_slice()) {
                return Err(fail(KeyError::DuplicateCertificate { first_index }));
            }
            seen_certs.insert(der, index);
            let key = certificate_key(der).map_err(fail)?;
            keys.push(Value::Object(x509_entry(&key, der)));
        }

        let mut seen_kids: HashMap<&str, usize> = HashMap::new();
        for (index, authority) in self.jwt_authorities.iter().enumerate() {
            let fail = |source| BundleError::JwtAuthority { index, source };
            if authority.kid.is_empty() {
                return Err(fail(KeyError::EmptyKid));
            }
            if let Some(&first_index) = seen_kids.get(authority.kid.as_str()) {
                return Err(fail(KeyError::DuplicateKid {
                    kid: excerpt(&authority.kid, 128),
                    first_index,
                }));
            }
            seen_kids.insert(&authority.kid, index);
            authority.key.validate().map_err(fail)?;
            keys.push(Value::Object(jwt_entry(authority)));
        }

        let mut doc = Map::new();
        doc.insert("keys".into(), Value::Array(keys));
        if let Some(seq) = self.sequence {
            doc.insert("spiffe_sequence".into(), Value::from(seq));
        }
        if let Some(hint) = self.refresh_hint {
            doc.insert("spiffe_refresh_hint".into(), Value::from(hint));
        }
        Ok(Value::Object(doc))
    }
}

/// `{"use":"x509-svid", <key params from the certificate>, "x5c":[<std base64 DER>]}`, no kid.
fn x509_entry(key: &PublicJwk, der: &[u8]) -> Map<String, Value> {
    let mut m = key.to_json_members();
    m.insert("use".into(), Value::from(X509_SVID_USE));
    m.insert(
        "x5c".into(),
        Value::Array(vec![Value::from(STANDARD.encode(der))]),
    );
    m
}

/// `{"use":"jwt-svid","kid":…, <key params>}`.
fn jwt_entry(authority: &JwtAuthority) -> Map<String, Value> {
    let mut m = authority.key.to_json_members();
    m.insert("use".into(), Value::from(JWT_SVID_USE));
    m.insert("kid".into(), Value::from(authority.kid.as_str()));
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bundle::jwk::EcCurve;
    use crate::bundle::test_certs::*;
    use serde_json::json;

    fn td() -> TrustDomain {
        TrustDomain::new("example.org").unwrap()
    }

    fn jwt(kid: &str) -> JwtAuthority {
        JwtAuthority {
            kid: kid.into(),
            key: PublicJwk::from_spki_der(&der(P256_SPKI)).unwrap(),
        }
    }

    #[test]
    fn empty_bundle_has_an_empty_keys_array() {
        let doc = BundleDocument::new(td());
        assert!(doc.is_empty());
        assert_eq!(doc.to_json().unwrap(), r#"{"keys":[]}"#);
    }

    #[test]
    fn emitted_json_has_the_spec_shape() {
        let mut doc = BundleDocument::new(td());
        doc.sequence = Some(7);
        doc.refresh_hint = Some(300);
        doc.x509_authorities = vec![der(EC_CERT_1), der(RSA_CERT)];
        doc.jwt_authorities = vec![jwt("key-1")];
        assert!(!doc.is_empty());
        assert_eq!(doc.refresh_hint_duration(), Some(Duration::from_secs(300)));

        let v: Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
        assert_eq!(v["spiffe_sequence"], json!(7));
        assert_eq!(v["spiffe_refresh_hint"], json!(300));
        let keys = v["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3);

        // X.509 EC authority: params from the cert, exactly one std-base64 cert, no kid.
        assert_eq!(
            keys[0],
            json!({
                "use": "x509-svid", "kty": "EC", "crv": "P-256",
                "x": EC_CERT_1_X, "y": EC_CERT_1_Y,
                "x5c": [EC_CERT_1],
            })
        );
        // X.509 RSA authority.
        let rsa = keys[1].as_object().unwrap();
        assert_eq!(rsa["use"], "x509-svid");
        assert_eq!(rsa["kty"], "RSA");
        assert_eq!(rsa["e"], "AQAB");
        assert!(!rsa.contains_key("kid"));
        let n = rsa["n"].as_str().unwrap();
        assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
        assert_eq!(rsa["x5c"], json!([RSA_CERT]));
        assert!(
            RSA_CERT.ends_with('='),
            "827-byte DER: standard base64 keeps its padding"
        );

        // JWT authority.
        assert_eq!(
            keys[2],
            json!({
                "use": "jwt-svid", "kid": "key-1", "kty": "EC", "crv": "P-256",
                "x": EC_CERT_1_X, "y": EC_CERT_1_Y,
            })
        );
    }

    #[test]
    fn output_is_stable_and_pretty_is_equivalent() {
        let mut doc = BundleDocument::new(td());
        doc.sequence = Some(1);
        doc.x509_authorities = vec![der(EC_CERT_2)];
        doc.jwt_authorities = vec![jwt("b"), jwt("a")];
        let a = doc.to_json().unwrap();
        assert_eq!(a, doc.clone().to_json().unwrap());
        let pretty = doc.to_json_pretty().unwrap();
        assert!(pretty.contains('\n'));
        assert_eq!(
            serde_json::from_str::<Value>(&pretty).unwrap(),
            serde_json::from_str::<Value>(&a).unwrap()
        );
        // Order of authorities is preserved.
        let v: Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["keys"][1]["kid"], "b");
        assert_eq!(v["keys"][2]["kid"], "a");
    }

    #[test]
    fn emission_rejects_documents_that_would_not_parse_back() {
        let mut doc = BundleDocument::new(td());
        doc.x509_authorities = vec![der(EC_CERT_1), b"not a cert".to_vec()];
        assert!(matches!(
            doc.to_json().unwrap_err(),
            BundleError::X509Authority {
                index: 1,
                source: KeyError::BadCertificate { .. }
            }
        ));

        doc.x509_authorities = vec![der(EC_CERT_1), der(EC_CERT_2), der(EC_CERT_1)];
        assert_eq!(
            doc.to_json().unwrap_err(),
            BundleError::X509Authority {
                index: 2,
                source: KeyError::DuplicateCertificate { first_index: 0 }
            }
        );

        let mut doc = BundleDocument::new(td());
        doc.jwt_authorities = vec![jwt("")];
        assert_eq!(
            doc.to_json().unwrap_err(),
            BundleError::JwtAuthority {
                index: 0,
                source: KeyError::EmptyKid
            }
        );

        doc.jwt_authorities = vec![jwt("a"), jwt("b"), jwt("a")];
        assert_eq!(
            doc.to_json().unwrap_err(),
            BundleError::JwtAuthority {
                index: 2,
                source: KeyError::DuplicateKid {
                    kid: "a".into(),
                    first_index: 0
                }
            }
        );

        doc.jwt_authorities = vec![JwtAuthority {
            kid: "k".into(),
            key: PublicJwk::Ec {
                crv: EcCurve::P384,
                x: vec![1; 32],
                y: vec![1; 48],
            },
        }];
        assert!(matches!(
            doc.to_json_pretty().unwrap_err(),
            BundleError::JwtAuthority {
                index: 0,
                source: KeyError::CoordinateLength { name: "x", .. }
            }
        ));
    }

    #[test]
    fn finds_jwt_authority_by_kid() {
        let mut doc = BundleDocument::new(td());
        doc.jwt_authorities = vec![jwt("a"), jwt("b")];
        assert_eq!(doc.jwt_authority("b").unwrap().kid, "b");
        assert!(doc.jwt_authority("c").is_none());
        assert_eq!(doc.refresh_hint_duration(), None);
    }
}
