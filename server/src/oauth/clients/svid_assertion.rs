//! `spiffe_jwt` client assertions: a JWT-SVID whose `sub` is the client's registered SPIFFE
//! ID and whose `aud` contains the issuer (or the token endpoint URL), validated against the
//! bundle of its trust domain — the server's own or a federated one.
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
use super::jws::{AssertionError, numeric_date};

/// Verifies a JWT-SVID assertion for the client registered with `spiffe_id` at `now`; its
/// `aud` must contain one of `audiences` (tried in order).
pub fn verify_spiffe_jwt(
    assertion: &str,
    spiffe_id: &SpiffeId,
    bundles: &[Bundle],
    audiences: &[&str],
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
    let jti = match validated.claims.get("jti") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
                .ok_or(AssertionError::MissingJti)?
                .to_owned(),
        ),
    };
    let exp = validated
        .claims
        .get("exp")
        .and_then(numeric_date)
        .ok_or(AssertionError::MissingExpiry)?;
    Ok(VerifiedAssertion {
        jti,
        replay_until: from_unix_seconds(exp),
    })
}

#[cfg(test)]
#[path = "svid_assertion_tests.rs"]
mod tests;
