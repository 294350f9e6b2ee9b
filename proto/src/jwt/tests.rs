//! RFC 7515 / RFC 7519 edge cases of the one JWT parser.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn token(header: &str, claims: &str, sig: &str) -> String {
    format!("{}.{}.{sig}", b64(header), b64(claims))
}

const HEADER: &str = r#"{"alg":"ES256","typ":"JWT"}"#;

#[test]
fn a_well_formed_token_splits_into_header_claims_and_signing_input() {
    let t = token(HEADER, r#"{"sub":"a","exp":5}"#, "c2ln");
    let jws = split_compact(&t).unwrap();
    assert_eq!(jws.header["alg"], "ES256");
    assert_eq!(jws.claims["sub"], "a");
    assert_eq!(jws.signature, "c2ln");
    assert_eq!(jws.signing_input, &t[..t.rfind('.').unwrap()]);
    // An empty signature (unsecured JWS) splits; the algorithm allowlist refuses it later.
    assert!(split_compact(&token(HEADER, "{}", "")).is_ok());
}

#[test]
fn the_segment_count_must_be_exactly_three() {
    let h = b64(HEADER);
    let c = b64("{}");
    for (text, found) in [
        (String::new(), 1),
        ("abc".to_owned(), 1),
        (format!("{h}.{c}"), 2),
        (format!("{h}.{c}.c2ln.c2ln"), 4),
        (format!("{h}.{c}.c2ln.c2ln.c2ln"), 5),
        ("..".to_owned(), 3),
    ] {
        let got = split_compact(&text);
        if found == 3 {
            assert_eq!(got.unwrap_err(), JwtError::Json(Part::Header), "{text}");
        } else {
            assert_eq!(got.unwrap_err(), JwtError::SegmentCount { found }, "{text}");
        }
    }
}

#[test]
fn segments_must_be_base64url_without_padding() {
    let c = b64("{}");
    // Standard-alphabet characters, padding, a stray space, a non-canonical last character.
    let padded = format!("{}=", b64(HEADER));
    let plus = b64(HEADER).replace('-', "+").replace('_', "/") + "+";
    for header in [padded, plus, format!(" {}", b64(HEADER)), "!!".to_owned()] {
        assert_eq!(
            split_compact(&format!("{header}.{c}.c2ln")).unwrap_err(),
            JwtError::Base64(Part::Header),
            "{header}"
        );
    }
    assert_eq!(
        split_compact(&format!("{}.{c}=.c2ln", b64(HEADER))).unwrap_err(),
        JwtError::Base64(Part::Claims)
    );
    // "QQ" is canonical for "A"; "QR" has non-zero trailing bits.
    let claims_qr = format!("{}.QR.c2ln", b64(HEADER));
    assert_eq!(
        split_compact(&claims_qr).unwrap_err(),
        JwtError::Base64(Part::Claims)
    );
}

#[test]
fn header_and_claims_must_be_json_objects() {
    assert_eq!(
        split_compact(&token("not json", "{}", "")).unwrap_err(),
        JwtError::Json(Part::Header)
    );
    assert_eq!(
        split_compact(&token(HEADER, r#"{"a":1} trailing"#, "")).unwrap_err(),
        JwtError::Json(Part::Claims)
    );
    for claims in ["[]", "[1,2]", "\"s\"", "1", "1.5", "true", "null"] {
        assert_eq!(
            split_compact(&token(HEADER, claims, "")).unwrap_err(),
            JwtError::NotAnObject(Part::Claims),
            "{claims}"
        );
    }
}

#[test]
fn a_repeated_member_name_is_refused() {
    assert_eq!(
        split_compact(&token(HEADER, r#"{"sub":"a","sub":"b"}"#, "")).unwrap_err(),
        JwtError::DuplicateMember {
            part: Part::Claims,
            name: "sub".into()
        }
    );
    assert_eq!(
        split_compact(&token(r#"{"alg":"ES256","alg":"none"}"#, "{}", "")).unwrap_err(),
        JwtError::DuplicateMember {
            part: Part::Header,
            name: "alg".into()
        }
    );
    // Escapes that decode to the same name are the same name.
    assert!(matches!(
        split_compact(&token(HEADER, r#"{"sub":"a","s\u0075b":"b"}"#, "")),
        Err(JwtError::DuplicateMember { .. })
    ));
    // Nested objects are values: their members are not the claims'.
    assert!(split_compact(&token(HEADER, r#"{"a":{"x":1},"b":{"x":1}}"#, "")).is_ok());
}

#[test]
fn an_oversized_token_is_refused_before_decoding() {
    let big = "a".repeat(MAX_COMPACT_LEN + 1);
    assert_eq!(
        split_compact(&big).unwrap_err(),
        JwtError::TooLong {
            len: MAX_COMPACT_LEN + 1,
            max: MAX_COMPACT_LEN
        }
    );
}

#[test]
fn errors_never_echo_the_token() {
    let secret = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw";
    let t = format!("{secret}.{secret}.{secret}");
    let shown = split_compact(&t).unwrap_err().to_string();
    assert!(!shown.contains(secret), "{shown}");
}

#[test]
fn numeric_dates_are_non_negative_numbers_up_to_year_9999_fractions_floored() {
    let cases: [(Value, Result<i64, DateError>); 12] = [
        (json!(0), Ok(0)),
        (json!(1_800_000_000), Ok(1_800_000_000)),
        (json!(1_800_000_000.9), Ok(1_800_000_000)),
        (json!(0.5), Ok(0)),
        (json!(MAX_NUMERIC_DATE), Ok(MAX_NUMERIC_DATE)),
        (json!(MAX_NUMERIC_DATE + 1), Err(DateError::OutOfRange)),
        (json!(u64::MAX), Err(DateError::OutOfRange)),
        (json!(1e300), Err(DateError::OutOfRange)),
        (json!(-1), Err(DateError::Negative)),
        (json!(-0.5), Err(DateError::Negative)),
        (json!("1800000000"), Err(DateError::NotANumber)),
        (json!(null), Err(DateError::NotANumber)),
    ];
    for (value, expected) in cases {
        assert_eq!(numeric_date(&value), expected, "{value}");
    }
    let claims = json!({"exp": 10, "nbf": null, "iat": "x"});
    let claims = claims.as_object().unwrap();
    assert_eq!(numeric_date_claim(claims, "exp"), Ok(Some(10)));
    assert_eq!(numeric_date_claim(claims, "nbf"), Ok(None));
    assert_eq!(numeric_date_claim(claims, "absent"), Ok(None));
    assert_eq!(
        numeric_date_claim(claims, "iat"),
        Err(DateError::NotANumber)
    );
}
