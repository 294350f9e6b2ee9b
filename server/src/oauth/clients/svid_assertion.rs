//! `spiffe_jwt` client assertions: a JWT-SVID whose `sub` is the client's registered SPIFFE
//! ID and whose `aud` contains the token endpoint URL (or the URL of the endpoint called) and
//! **not** the issuer, validated against the bundle of its trust domain — the server's own or
//! a federated one.
//!
//! The issuer as audience is reserved for token-exchange subjects (RFC 8693): a workload
//! hands such a JWT-SVID to a service, which must not be able to replay it as the workload's
//! client credential; the exchange in turn refuses a subject whose `aud` names one of our
//! endpoints. One JWT-SVID never serves both uses.
//!
//! Single use: JWT-SVIDs minted by Tessera carry no `jti` (workloads reuse a cached JWT-SVID
//! until it nears expiry, as the SPIFFE model intends), so they are bearer assertions valid
//! until their `exp`. A JWT-SVID that does carry a `jti` (another issuer's) is made single-use
//! like a `private_key_jwt` assertion.

use std::time::SystemTime;

use tessera_proto::clock::from_unix_seconds;
use tessera_proto::identity::SpiffeId;
use tessera_proto::jwt_svid::{TokenError, ValidatedJwt, validate_jwt_svid};
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::assertion::{MAX_JTI_LEN, VerifiedAssertion};
use super::jws::{AssertionError, date_claim};

/// Verifies a JWT-SVID assertion for the client registered with `spiffe_id` at `now`; its
/// `aud` must contain one of `audiences` (tried in order) and must not contain `issuer`
/// (the token-exchange audience).
pub fn verify_spiffe_jwt(
    assertion: &str,
    spiffe_id: &SpiffeId,
    bundles: &[Bundle],
    audiences: &[&str],
    issuer: &str,
    now: SystemTime,
) -> Result<VerifiedAssertion, AssertionError> {
    let mut last = TokenError::AudienceMismatch;
    let mut validated: Option<ValidatedJwt> = None;
    for audience in audiences {
        match validate_jwt_svid(assertion, audience, bundles, now) {
            Ok(v) => {
                validated = Some(v);
                break;
            }
            Err(TokenError::AudienceMismatch) => last = TokenError::AudienceMismatch,
            Err(e) => return Err(e.into()),
        }
    }
    let validated = validated.ok_or(AssertionError::Svid(last))?;
    if &validated.spiffe_id != spiffe_id {
        return Err(AssertionError::WrongSpiffeId);
    }
    if audience_values(&validated.claims).any(|a| a == issuer) {
        return Err(AssertionError::ExchangeAudience);
    }
    let jti = match validated.claims.get("jti") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
                .ok_or(AssertionError::MissingJti)?
                .to_owned(),
        ),
    };
    let exp = date_claim(&validated.claims, "exp")?.ok_or(AssertionError::MissingExpiry)?;
    Ok(VerifiedAssertion {
        jti,
        replay_until: from_unix_seconds(exp),
    })
}

/// The values of a validated JWT's `aud` (a string or an array of strings).
pub fn audience_values(
    claims: &serde_json::Map<String, serde_json::Value>,
) -> impl Iterator<Item = &str> {
    let (one, many) = match claims.get("aud") {
        Some(serde_json::Value::String(s)) => (Some(s.as_str()), None),
        Some(serde_json::Value::Array(a)) => (None, Some(a.iter().filter_map(|v| v.as_str()))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

#[cfg(test)]
#[path = "svid_assertion_tests.rs"]
mod tests;
