//! Verification of our own tokens (RFC 8725): access tokens (RFC 9068) for introspection and
//! revocation, ID tokens as the `id_token_hint` of RP-Initiated Logout.

use std::time::SystemTime;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use tessera_proto::clock::unix_seconds;
use tessera_proto::jwt::{numeric_date, split_compact};

/// Algorithms accepted on access tokens; never `none` or HMAC.
const ALLOWED_ALGS: &[Algorithm] = &[Algorithm::ES256, Algorithm::ES384, Algorithm::RS256];

/// Verified claims of an access token.
pub(crate) type Claims = Map<String, Value>;

/// Verifies `token` against `jwks`: allowed `alg`, `typ` `at+jwt`, signature by the key with
/// the header's `kid`, `iss` = `issuer`, `exp` after `now`, and the RFC 9068 claims present.
/// Any failure gives `None` (the reason is not exposed).
pub(crate) fn verify_access_token(
    token: &str,
    jwks: &Value,
    issuer: &str,
    now: SystemTime,
) -> Option<Claims> {
    let at_jwt = |typ: &str| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    };
    let required = ["iss", "sub", "aud", "exp", "iat", "jti"];
    let claims = verify_signed(token, jwks, issuer, at_jwt, &required)?;
    let exp = numeric_date(claims.get("exp")?).ok()?;
    if exp <= unix_seconds(now) {
        return None;
    }
    claims.get("client_id")?.as_str()?;
    claims.get("jti")?.as_str()?;
    Some(claims)
}

/// Verifies an ID token this server issued, given back as `id_token_hint` (OpenID
/// RP-Initiated Logout §2): allowed `alg`, `typ` `JWT` (so never an access token), signature
/// by the key with the header's `kid` in `jwks`, `iss` = `issuer`, and `sub`, `aud`, `exp`,
/// `iat` present. An expired token is accepted, as the specification asks. Any failure gives
/// `None` (the reason is not exposed).
pub(crate) fn verify_id_token_hint(token: &str, jwks: &Value, issuer: &str) -> Option<Claims> {
    let jwt = |typ: &str| typ == "JWT";
    let claims = verify_signed(token, jwks, issuer, jwt, &["iss", "sub", "aud", "exp"])?;
    claims.get("sub")?.as_str()?;
    numeric_date(claims.get("iat")?).ok()?;
    Some(claims)
}

/// The claims of `token` when its `alg` is allowed, its `typ` passes `typ_ok`, the key with
/// its `kid` in `jwks` (of the same algorithm, if it names one) signed it, `iss` is
/// `issuer` and the `required` claims are present. Time is left to the caller.
fn verify_signed(
    token: &str,
    jwks: &Value,
    issuer: &str,
    typ_ok: impl Fn(&str) -> bool,
    required: &[&str],
) -> Option<Claims> {
    // The one parser (tessera_proto::jwt): the claims returned are the bytes the signature
    // covers, parsed once.
    let jws = split_compact(token).ok()?;
    let alg_name = jws.header.get("alg")?.as_str()?;
    let alg = *ALLOWED_ALGS.iter().find(|a| {
        serde_json::to_value(a)
            .ok()
            .as_ref()
            .and_then(Value::as_str)
            == Some(alg_name)
    })?;
    if !typ_ok(jws.header.get("typ")?.as_str()?) {
        return None;
    }
    let jwk = find_key(jwks, jws.header.get("kid")?.as_str()?)?;
    if let Some(key_alg) = jwk.common.key_algorithm
        && serde_json::to_value(key_alg).ok() != serde_json::to_value(alg).ok()
    {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let signed =
        jsonwebtoken::crypto::verify(jws.signature, jws.signing_input.as_bytes(), &key, alg)
            .ok()?;
    if !signed {
        return None;
    }
    let claims = jws.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    if required.iter().any(|name| !claims.contains_key(*name)) {
        return None;
    }
    Some(claims)
}

/// The JWK with `kid` in a JWKS document (keys that do not parse are skipped).
fn find_key(jwks: &Value, kid: &str) -> Option<Jwk> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .find_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
}
