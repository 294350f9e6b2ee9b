//! Tests of `BundleDocument::parse`: round trips, the spec's shapes, and every error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::bundle::jwk::EcCurve;
use crate::bundle::test_certs::*;
use serde_json::json;

fn td() -> TrustDomain {
    TrustDomain::new("example.org").unwrap()
}

fn parse(v: &Value) -> Result<BundleDocument, BundleError> {
    BundleDocument::parse(td(), v.to_string().as_bytes())
}

fn ec_key() -> PublicJwk {
    PublicJwk::from_spki_der(&der(P256_SPKI)).unwrap()
}

fn rsa_key() -> PublicJwk {
    PublicJwk::from_spki_der(&der(RSA_SPKI)).unwrap()
}

/// A valid `x509-svid` entry for EC_CERT_1.
fn x509_ec1() -> Value {
    json!({"use": "x509-svid", "kty": "EC", "crv": "P-256",
           "x": EC_CERT_1_X, "y": EC_CERT_1_Y, "x5c": [EC_CERT_1]})
}

/// A valid `jwt-svid` entry.
fn jwt_entry(kid: &str) -> Value {
    json!({"use": "jwt-svid", "kid": kid, "kty": "EC", "crv": "P-256",
           "x": EC_CERT_1_X, "y": EC_CERT_1_Y})
}

fn with(mut entry: Value, name: &str, value: Value) -> Value {
    entry[name] = value;
    entry
}

fn without(mut entry: Value, name: &str) -> Value {
    entry.as_object_mut().unwrap().remove(name);
    entry
}

fn full_document() -> BundleDocument {
    let mut doc = BundleDocument::new(td());
    doc.sequence = Some(42);
    doc.refresh_hint = Some(2_419_200);
    doc.x509_authorities = vec![der(EC_CERT_1), der(RSA_CERT), der(EC_CERT_2)];
    doc.jwt_authorities = vec![
        JwtAuthority {
            kid: "ec-key".into(),
            key: ec_key(),
        },
        JwtAuthority {
            kid: "rsa-key".into(),
            key: rsa_key(),
        },
    ];
    doc
}

#[test]
fn round_trip_compact_and_pretty() {
    let doc = full_document();
    for json in [doc.to_json().unwrap(), doc.to_json_pretty().unwrap()] {
        let (back, ignored) = BundleDocument::parse_with_ignored(td(), json.as_bytes()).unwrap();
        assert_eq!(back, doc);
        assert!(ignored.is_empty());
        // Emitting the parsed document gives the same bytes.
        assert_eq!(back.to_json().unwrap(), doc.to_json().unwrap());
    }
}

#[test]
fn empty_keys_is_a_valid_empty_bundle() {
    let doc = parse(&json!({"keys": [], "spiffe_sequence": 9})).unwrap();
    assert!(doc.is_empty());
    assert_eq!(doc.sequence, Some(9));
    assert_eq!(doc.refresh_hint, None);
    assert_eq!(doc.trust_domain, td());
}

#[test]
fn optional_members_and_unknown_members() {
    let doc = parse(&json!({"keys": [x509_ec1()], "extra": {"a": 1},
                            "spiffe_sequence": null, "spiffe_refresh_hint": 0}))
    .unwrap();
    assert_eq!(doc.sequence, None);
    assert_eq!(doc.refresh_hint, Some(0));
    assert_eq!(doc.x509_authorities, vec![der(EC_CERT_1)]);
    let doc = parse(&json!({"keys": [], "spiffe_sequence": u64::MAX})).unwrap();
    assert_eq!(doc.sequence, Some(u64::MAX));
}

#[test]
fn spec_appendix_shape_parses() {
    // Trust bundle #1 of the spec's Appendix A, with a real RSA CA certificate.
    let rsa = rsa_key().to_json_members();
    let v = json!({
        "spiffe_sequence": 1,
        "spiffe_refresh_hint": 2419200,
        "keys": [{"kty": "RSA", "use": "x509-svid", "x5c": [RSA_CERT], "n": rsa["n"], "e": "AQAB"}]
    });
    let doc = parse(&v).unwrap();
    assert_eq!(doc.sequence, Some(1));
    assert_eq!(
        doc.refresh_hint_duration(),
        Some(std::time::Duration::from_secs(28 * 86_400))
    );
    assert_eq!(doc.x509_authorities, vec![der(RSA_CERT)]);
}

#[test]
fn unknown_use_and_kty_are_ignored_and_reported() {
    let v = json!({"keys": [
        with(x509_ec1(), "use", json!("enc")),
        with(x509_ec1(), "use", json!("X509-SVID")),
        json!({"use": "jwt-svid", "kid": "ed", "kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
        json!({"use": "x509-svid", "kty": "oct", "k": "AAAA"}),
        x509_ec1(),
        x509_ec1(),
        jwt_entry("k1"),
    ]});
    let (doc, ignored) =
        BundleDocument::parse_with_ignored(td(), v.to_string().as_bytes()).unwrap();
    assert_eq!(doc.x509_authorities, vec![der(EC_CERT_1)]);
    assert_eq!(doc.jwt_authorities.len(), 1);
    assert_eq!(
        ignored,
        vec![
            IgnoredKey {
                index: 0,
                reason: IgnoreReason::UnknownUse {
                    value: "enc".into()
                }
            },
            IgnoredKey {
                index: 1,
                reason: IgnoreReason::UnknownUse {
                    value: "X509-SVID".into()
                }
            },
            IgnoredKey {
                index: 2,
                reason: IgnoreReason::UnknownKeyType { kty: "OKP".into() }
            },
            IgnoredKey {
                index: 3,
                reason: IgnoreReason::UnknownKeyType { kty: "oct".into() }
            },
            IgnoredKey {
                index: 5,
                reason: IgnoreReason::DuplicateCertificate { first_index: 4 }
            },
        ]
    );
    assert_eq!(
        ignored[0].to_string(),
        "keys[0] ignored: unknown use \"enc\""
    );
    assert_eq!(
        ignored[2].to_string(),
        "keys[2] ignored: unknown key type \"OKP\""
    );
    assert_eq!(
        ignored[4].to_string(),
        "keys[5] ignored: same certificate as keys[4]"
    );
}

#[test]
fn x509_entry_tolerates_kid_and_extra_members() {
    let v = json!({"keys": [with(with(x509_ec1(), "kid", json!("x")), "alg", json!("ES256"))]});
    assert_eq!(parse(&v).unwrap().x509_authorities, vec![der(EC_CERT_1)]);
}

#[test]
fn document_level_errors() {
    let bad = |json: &[u8]| BundleDocument::parse(td(), json).unwrap_err();
    assert!(matches!(bad(b""), BundleError::NotJson { .. }));
    assert!(matches!(bad(b"{\"keys\": [}"), BundleError::NotJson { .. }));
    assert!(matches!(bad(b"\xff\xfe"), BundleError::NotJson { .. }));
    let err = bad(b"{\"keys\": [] ");
    assert!(err.to_string().contains("line 1"), "{err}");

    #[rustfmt::skip]
    let cases: Vec<(Value, BundleError)> = vec![
        (json!([]), BundleError::NotAnObject),
        (json!("keys"), BundleError::NotAnObject),
        (json!({}), BundleError::MissingKeys),
        (json!({"spiffe_sequence": 1}), BundleError::MissingKeys),
        (json!({"keys": null}), BundleError::KeysNotArray),
        (json!({"keys": {}}), BundleError::KeysNotArray),
        (json!({"keys": "[]"}), BundleError::KeysNotArray),
        (json!({"keys": [], "spiffe_sequence": -1}), BundleError::InvalidSequence { found: "-1".into() }),
        (json!({"keys": [], "spiffe_sequence": 1.5}), BundleError::InvalidSequence { found: "1.5".into() }),
        (json!({"keys": [], "spiffe_sequence": "1"}), BundleError::InvalidSequence { found: "\"1\"".into() }),
        (json!({"keys": [], "spiffe_refresh_hint": -300}), BundleError::InvalidRefreshHint { found: "-300".into() }),
        (json!({"keys": [], "spiffe_refresh_hint": "5m"}), BundleError::InvalidRefreshHint { found: "\"5m\"".into() }),
        (json!({"keys": [], "spiffe_refresh_hint": true}), BundleError::InvalidRefreshHint { found: "true".into() }),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(&input).unwrap_err(), expected, "{input}");
    }
    // Larger than u64.
    assert!(matches!(
        bad(b"{\"keys\": [], \"spiffe_sequence\": 18446744073709551616}"),
        BundleError::InvalidSequence { .. }
    ));
}

#[test]
fn key_level_errors_name_the_index() {
    let other_cert_params = with(
        with(x509_ec1(), "x5c", json!([EC_CERT_2])),
        "use",
        json!("x509-svid"),
    );
    let rsa_params_ec_cert = {
        let mut m = rsa_key().to_json_members();
        m.insert("use".into(), json!("x509-svid"));
        m.insert("x5c".into(), json!([EC_CERT_1]));
        Value::Object(m)
    };
    #[rustfmt::skip]
    let cases: Vec<(Value, KeyError)> = vec![
        (json!("not an object"), KeyError::NotAnObject),
        (json!(null), KeyError::NotAnObject),
        (without(x509_ec1(), "use"), KeyError::MissingMember { name: "use" }),
        (with(x509_ec1(), "use", json!(1)), KeyError::MemberNotString { name: "use" }),
        (without(x509_ec1(), "kty"), KeyError::MissingMember { name: "kty" }),
        (with(x509_ec1(), "kty", json!(["EC"])), KeyError::MemberNotString { name: "kty" }),
        // x509-svid
        (without(x509_ec1(), "x5c"), KeyError::MissingMember { name: "x5c" }),
        (with(x509_ec1(), "x5c", json!(EC_CERT_1)), KeyError::X5cNotArray),
        (with(x509_ec1(), "x5c", json!([])), KeyError::X5cCount { count: 0 }),
        (with(x509_ec1(), "x5c", json!([EC_CERT_1, EC_CERT_2])), KeyError::X5cCount { count: 2 }),
        (with(x509_ec1(), "x5c", json!([1])), KeyError::X5cNotString),
        (other_cert_params, KeyError::CertificateKeyMismatch),
        (rsa_params_ec_cert, KeyError::CertificateKeyMismatch),
        (without(x509_ec1(), "crv"), KeyError::MissingMember { name: "crv" }),
        (without(x509_ec1(), "y"), KeyError::MissingMember { name: "y" }),
        (with(x509_ec1(), "crv", json!("P-192")), KeyError::UnsupportedCurve { crv: "P-192".into() }),
        // jwt-svid
        (without(jwt_entry("k"), "kid"), KeyError::MissingMember { name: "kid" }),
        (jwt_entry(""), KeyError::EmptyKid),
        (with(jwt_entry("k"), "kid", json!(7)), KeyError::MemberNotString { name: "kid" }),
        (with(jwt_entry("k"), "crv", json!("secp256k1")), KeyError::UnsupportedCurve { crv: "secp256k1".into() }),
        (with(jwt_entry("k"), "x", json!("AAAA")),
         KeyError::CoordinateLength { name: "x", curve: EcCurve::P256, expected: 32, found: 3 }),
        (json!({"use": "jwt-svid", "kid": "r", "kty": "RSA", "n": "", "e": "AQAB"}),
         KeyError::ZeroRsaParameter { name: "n" }),
    ];
    for (entry, expected) in cases {
        // Put the bad key after two good ones so the index is not trivially 0.
        let v = json!({"keys": [x509_ec1(), jwt_entry("good"), entry.clone()]});
        assert_eq!(
            parse(&v).unwrap_err(),
            BundleError::Key {
                index: 2,
                source: expected
            },
            "{entry}"
        );
    }
}

#[test]
fn duplicate_kid_names_both_indexes() {
    let v = json!({"keys": [jwt_entry("a"), x509_ec1(), jwt_entry("b"), jwt_entry("a")]});
    let err = parse(&v).unwrap_err();
    assert_eq!(
        err,
        BundleError::Key {
            index: 3,
            source: KeyError::DuplicateKid {
                kid: "a".into(),
                first_index: 0
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "keys[3]: kid \"a\" is already used at index 0"
    );
}

#[test]
fn bad_base64_is_reported_per_encoding() {
    // x5c is standard base64 with padding: URL-safe characters or a missing '=' are errors.
    let url_safe = EC_CERT_1.replace('+', "-").replace('/', "_");
    assert_ne!(url_safe, EC_CERT_1, "the fixture must contain + or /");
    let rsa_unpadded = RSA_CERT.trim_end_matches('=');
    for bad in [url_safe.as_str(), rsa_unpadded, "@@@@", "abc"] {
        let mut entry = x509_ec1();
        if bad == rsa_unpadded {
            entry = Value::Object({
                let mut m = rsa_key().to_json_members();
                m.insert("use".into(), json!("x509-svid"));
                m
            });
        }
        let v = json!({"keys": [with(entry, "x5c", json!([bad]))]});
        assert!(
            matches!(
                parse(&v).unwrap_err(),
                BundleError::Key {
                    index: 0,
                    source: KeyError::X5cBase64 { .. }
                }
            ),
            "{bad}"
        );
    }
    // Valid base64 that is not a certificate.
    let v = json!({"keys": [with(x509_ec1(), "x5c", json!(["aGVsbG8="]))]});
    assert!(matches!(
        parse(&v).unwrap_err(),
        BundleError::Key {
            index: 0,
            source: KeyError::BadCertificate { .. }
        }
    ));
    // Key parameters use base64url: '+' and '/' are errors.
    let v = json!({"keys": [with(jwt_entry("k"), "y", json!("a+b/"))]});
    assert!(matches!(
        parse(&v).unwrap_err(),
        BundleError::Key {
            index: 0,
            source: KeyError::Base64Url { name: "y", .. }
        }
    ));
}

#[test]
fn never_panics_on_mutated_input() {
    let json = full_document().to_json().unwrap().into_bytes();
    let mut accepted = 0;
    for i in 0..json.len() {
        for replacement in [b'"', b'0', 0xff] {
            let mut mutated = json.clone();
            mutated[i] = replacement;
            if BundleDocument::parse(td(), &mutated).is_ok() {
                accepted += 1;
            }
        }
        // Truncation at every point.
        assert!(BundleDocument::parse(td(), &json[..i]).is_err());
    }
    // Most single-byte mutations must be rejected (a few, e.g. inside a kid, are harmless).
    assert!(
        accepted < json.len(),
        "{accepted} of {} accepted",
        json.len() * 3
    );
}

#[test]
fn deeply_nested_json_is_rejected_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        BundleDocument::parse(td(), deep.as_bytes()).unwrap_err(),
        BundleError::NotJson { .. }
    ));
}
