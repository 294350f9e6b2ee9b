//! `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, RFC 7521 §4.2): a JWT signed
//! by a key in the client's registered JWK set, with `iss = sub = client_id`, an audience
//! naming this server, a short lifetime and a `jti` (made single-use by [`super::replay`]).
//!
//! Acceptance window (documented in the README): an assertion is accepted until its `exp`,
//! and at most [`MAX_ASSERTION_AGE`] after its `iat`; without `iat`, its `exp` may be at most
//! [`MAX_ASSERTION_AGE`] ahead. So the replay cache keeps each `jti` for at most about five
//! minutes even when clients sign long-lived assertions (authlib's default `exp` is one hour
//! after `iat`). `exp`, `nbf` and `iat` are judged with [`LEEWAY`] of clock skew. Errors say
//! what is wrong and never echo the assertion.

use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use tessera_proto::clock::{from_unix_seconds, unix_seconds};

use super::jws::{self, AssertionError, excerpt};

/// How long after its `iat` an assertion is accepted (or, without `iat`, the most its `exp`
/// may lie ahead).
pub const MAX_ASSERTION_AGE: Duration = Duration::from_secs(300);
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The longest accepted `jti`.
pub const MAX_JTI_LEN: usize = 256;

/// The signature algorithms accepted for `private_key_jwt` (never `none` or HMAC).
pub const ASSERTION_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// A verified assertion: what the replay cache needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion's `jti`, when it has one.
    pub jti: Option<String>,
    /// When the assertion stops being acceptable (the end of its window plus [`LEEWAY`]):
    /// its `jti` must be remembered until then.
    pub replay_until: SystemTime,
}

fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Whether a JWK's `kty` (and `crv`) can verify `alg`.
fn key_fits(alg: Algorithm, key: &Map<String, Value>) -> bool {
    let kty = key.get("kty").and_then(Value::as_str);
    let crv = key.get("crv").and_then(Value::as_str);
    match alg {
        Algorithm::ES256 => kty == Some("EC") && crv == Some("P-256"),
        Algorithm::ES384 => kty == Some("EC") && crv == Some("P-384"),
        Algorithm::EdDSA => kty == Some("OKP") && crv == Some("Ed25519"),
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => kty == Some("RSA"),
        _ => false,
    }
}

/// The keys of `jwks` that may verify an assertion with `alg_name` and `kid`: chosen by `kid`
/// when the header has one, else every key of the right type; a key's own `alg` (if set) must
/// be `alg_name` and its `use` (if set) `sig`.
fn candidate_keys(
    jwks: &str,
    alg: Algorithm,
    alg_name: &str,
    kid: Option<&str>,
) -> Result<Vec<DecodingKey>, AssertionError> {
    let doc: Value = serde_json::from_str(jwks).map_err(|_| AssertionError::BadJwks)?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(AssertionError::BadJwks)?;
    let mut kid_seen = false;
    let mut found = Vec::new();
    for key in keys.iter().filter_map(Value::as_object) {
        if let Some(kid) = kid {
            if key.get("kid").and_then(Value::as_str) != Some(kid) {
                continue;
            }
            kid_seen = true;
        }
        let alg_ok = key.get("alg").is_none_or(|a| a.as_str() == Some(alg_name));
        let use_ok = key.get("use").is_none_or(|u| u.as_str() == Some("sig"));
        if !(alg_ok && use_ok && key_fits(alg, key)) {
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(Value::Object(key.clone())) else {
            continue;
        };
        if let Ok(decoding) = DecodingKey::from_jwk(&jwk) {
            found.push(decoding);
        }
    }
    match kid {
        Some(kid) if !kid_seen => Err(AssertionError::UnknownKey(excerpt(kid))),
        _ if found.is_empty() => Err(AssertionError::NoUsableKey),
        _ => Ok(found),
    }
}

/// The client an assertion names (`sub`, which must equal `iss`), read without verifying
/// anything: only to look the client up when no `client_id` parameter was sent.
pub fn unverified_client_id(assertion: &str) -> Option<String> {
    let claims = jws::split(assertion).ok()?.claims;
    let sub = claims.get("sub").and_then(Value::as_str)?;
    (claims.get("iss").and_then(Value::as_str) == Some(sub)).then(|| sub.to_owned())
}

/// Verifies a `private_key_jwt` assertion of `client_id` (JWK set `jwks`) at `now`; its `aud`
/// must contain one of `audiences` (the token endpoint URL, the issuer).
pub fn verify_private_key_jwt(
    assertion: &str,
    client_id: &str,
    jwks: &str,
    audiences: &[&str],
    now: SystemTime,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = jws::split(assertion)?;
    let header = &jws.header;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = algorithm(alg_name)
        .ok_or_else(|| AssertionError::UnsupportedAlgorithm(excerpt(alg_name)))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let keys = candidate_keys(jwks, alg, alg_name, kid)?;

    // The signature over the exact bytes split above; the claims checked are the one
    // parser's, never a second parse.
    let message = jws.signing_input.as_bytes();
    let verified = keys
        .iter()
        .any(|key| jsonwebtoken::crypto::verify(jws.signature, message, key, alg).unwrap_or(false));
    if !verified {
        return Err(AssertionError::BadSignature);
    }
    check_claims(&jws.claims, client_id, audiences, now)
}

/// The claim checks of RFC 7523 §3 once the signature verified.
fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[&str],
    now: SystemTime,
) -> Result<VerifiedAssertion, AssertionError> {
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    if iss != Some(client_id) || sub != Some(client_id) {
        return Err(AssertionError::WrongIssuer);
    }
    if !jws::audience_contains(claims, audiences) {
        return Err(AssertionError::AudienceMismatch);
    }
    let now_s = unix_seconds(now);
    let leeway = LEEWAY.as_secs() as i64;
    let max_age = MAX_ASSERTION_AGE.as_secs() as i64;
    let date = |name: &'static str| jws::date_claim(claims, name);
    let exp = date("exp")?.ok_or(AssertionError::MissingExpiry)?;
    let iat = date("iat")?;
    if let Some(nbf) = date("nbf")?
        && nbf > now_s.saturating_add(leeway)
    {
        return Err(AssertionError::NotYetValid);
    }
    let exp_deadline = exp.saturating_add(leeway);
    if now_s >= exp_deadline {
        return Err(AssertionError::Expired);
    }
    let deadline = match iat {
        Some(iat) if iat > now_s.saturating_add(leeway) => {
            return Err(AssertionError::NotYetValid);
        }
        Some(iat) => {
            let age_deadline = iat.saturating_add(max_age).saturating_add(leeway);
            if now_s >= age_deadline {
                return Err(AssertionError::TooOld);
            }
            exp_deadline.min(age_deadline)
        }
        None if exp.saturating_sub(now_s) > max_age.saturating_add(leeway) => {
            return Err(AssertionError::LifetimeTooLong);
        }
        None => exp_deadline,
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(AssertionError::MissingJti)?;
    Ok(VerifiedAssertion {
        jti: Some(jti.to_owned()),
        replay_until: from_unix_seconds(deadline),
    })
}

#[cfg(test)]
#[path = "assertion_tests.rs"]
mod tests;
