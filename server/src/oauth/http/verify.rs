//! Verification of our own tokens (RFC 8725): access tokens (RFC 9068) for introspection and
//! revocation, ID tokens as the `id_token_hint` of RP-Initiated Logout.

use std::time::SystemTime;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tessera_proto::clock::unix_seconds;

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
    let exp = claims.get("exp")?.as_i64()?;
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
    claims.get("iat")?.as_i64()?;
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
    let header = jsonwebtoken::decode_header(token).ok()?;
    if !ALLOWED_ALGS.contains(&header.alg) || !typ_ok(header.typ.as_deref()?) {
        return None;
    }
    let jwk = find_key(jwks, header.kid.as_deref()?)?;
    if let Some(key_alg) = jwk.common.key_algorithm
        && serde_json::to_value(key_alg).ok() != serde_json::to_value(header.alg).ok()
    {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(required);
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

/// The JWK with `kid` in a JWKS document (keys that do not parse are skipped).
fn find_key(jwks: &Value, kid: &str) -> Option<Jwk> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .find_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
}
