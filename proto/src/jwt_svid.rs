//! JWT-SVID validation: a pure check of a token against the JWT authorities of a set of
//! bundles (own and federated) at a given `now`. Used by the agent's `ValidateJWTSVID` and
//! by the server wherever a JWT-SVID is presented (OAuth client assertions, token exchange).
//! Error messages say what is wrong, never echo the token.

use std::time::SystemTime;

use crate::bundle::{EcCurve, PublicJwk};
use crate::clock::unix_seconds;
use crate::identity::{SpiffeId, TrustDomain};
use crate::jwt::{CompactJws, DateError, JwtError, numeric_date_claim, split_compact};
use crate::wire::tessera::types::v1::Bundle;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// The trust domain a bundle belongs to (`trust_domain` holds a name or a `spiffe://` ID).
pub fn bundle_trust_domain(bundle: &Bundle) -> Option<TrustDomain> {
    TrustDomain::from_id_or_name(&bundle.trust_domain).ok()
}

/// Longest excerpt of a token-supplied value (`alg`, `kid`) put in an error.
const EXCERPT: usize = 40;

/// Why a JWT-SVID is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS with JSON-object header and claims (see [`crate::jwt`]).
    #[error("malformed JWT-SVID: {0}")]
    Malformed(#[from] JwtError),
    /// A date claim (`exp`, `nbf`) is not a NumericDate (see [`crate::jwt::numeric_date`]).
    #[error("JWT-SVID claim {claim} {reason}")]
    BadDate {
        /// The claim.
        claim: &'static str,
        /// Why.
        reason: DateError,
    },
    /// `alg` is absent or not one of RS/PS 256/384/512, ES256/384.
    #[error("unsupported JWT-SVID algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `typ` is present and neither `JWT` nor `JOSE`.
    #[error("unsupported JWT-SVID type {0:?}")]
    UnsupportedType(String),
    /// The header names no key.
    #[error("JWT-SVID header has no key ID")]
    MissingKid,
    /// `sub` is absent or not a SPIFFE ID.
    #[error("JWT-SVID subject is not a valid SPIFFE ID")]
    BadSubject,
    /// No bundle for the subject's trust domain.
    #[error("no keys for trust domain {0:?}")]
    UnknownTrustDomain(String),
    /// The trust domain's bundle has no key with this ID.
    #[error("no JWT authority with key ID {kid:?} in trust domain {trust_domain:?}")]
    UnknownKey {
        /// The token's key ID (shortened).
        kid: String,
        /// The subject's trust domain.
        trust_domain: String,
    },
    /// The key cannot verify this algorithm (e.g. ES384 with a P-256 key).
    #[error("algorithm {alg} does not match the {kty} key {kid:?}")]
    AlgorithmMismatch {
        /// The header's algorithm.
        alg: String,
        /// The key's type (and curve).
        kty: String,
        /// The key ID.
        kid: String,
    },
    /// The bundle's key is unusable.
    #[error("JWT authority {0:?} is unusable")]
    BadKey(String),
    /// The signature does not verify.
    #[error("JWT-SVID signature is invalid")]
    BadSignature,
    /// `exp` is absent or not a number.
    #[error("JWT-SVID has no expiry")]
    MissingExpiry,
    /// `now` is at or after `exp`.
    #[error("JWT-SVID has expired")]
    Expired,
    /// `now` is before `nbf`.
    #[error("JWT-SVID is not valid yet")]
    NotYetValid,
    /// `aud` does not contain the requested audience.
    #[error("JWT-SVID audience does not contain the requested audience")]
    AudienceMismatch,
}

/// A valid JWT-SVID: its SPIFFE ID and claims.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedJwt {
    /// `sub`.
    pub spiffe_id: SpiffeId,
    /// Every claim.
    pub claims: Map<String, Value>,
}

/// Checks `token` for `audience` at `now` with the JWT authorities of `bundles` (the
/// agent's own and federated bundles; the one used is the trust domain of the token's
/// `sub`).
pub fn validate_jwt_svid<'a>(
    token: &str,
    audience: &str,
    bundles: impl IntoIterator<Item = &'a Bundle>,
    now: SystemTime,
) -> Result<ValidatedJwt, TokenError> {
    let CompactJws {
        header,
        claims,
        signing_input,
        signature,
    } = split_compact(token)?;

    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = allowed_algorithm(alg_name)
        .ok_or_else(|| TokenError::UnsupportedAlgorithm(excerpt(alg_name)))?;
    if let Some(typ) = header.get("typ") {
        match typ.as_str() {
            Some("JWT" | "JOSE") => {}
            other => {
                return Err(TokenError::UnsupportedType(excerpt(
                    other.unwrap_or("<not a string>"),
                )));
            }
        }
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or(TokenError::MissingKid)?;

    let spiffe_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| SpiffeId::parse(s).ok())
        .ok_or(TokenError::BadSubject)?;
    let td = spiffe_id.trust_domain();
    let bundle = bundles
        .into_iter()
        .find(|b| bundle_trust_domain(b).as_ref() == Some(td))
        .ok_or_else(|| TokenError::UnknownTrustDomain(td.as_str().to_owned()))?;
    let authority = bundle
        .jwt_authorities
        .iter()
        .find(|a| a.key_id == kid)
        .ok_or_else(|| TokenError::UnknownKey {
            kid: excerpt(kid),
            trust_domain: td.as_str().to_owned(),
        })?;
    let key = PublicJwk::from_spki_der(&authority.public_key)
        .map_err(|_| TokenError::BadKey(excerpt(kid)))?;
    let decoding_key = decoding_key(alg, alg_name, &key, kid)?;

    // The signature over the exact bytes split above: the claims used are the ones parsed
    // by the one parser, never a second parse.
    let verified =
        jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &decoding_key, alg)
            .map_err(|_| TokenError::BadSignature)?;
    if !verified {
        return Err(TokenError::BadSignature);
    }

    let now = unix_seconds(now);
    let date = |claim: &'static str| {
        numeric_date_claim(&claims, claim).map_err(|reason| TokenError::BadDate { claim, reason })
    };
    let exp = date("exp")?.ok_or(TokenError::MissingExpiry)?;
    if now >= exp {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = date("nbf")?
        && now < nbf
    {
        return Err(TokenError::NotYetValid);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(TokenError::AudienceMismatch);
    }
    Ok(ValidatedJwt { spiffe_id, claims })
}

/// The algorithms a JWT-SVID may use; `none`, HMAC and anything else are refused.
fn allowed_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// The verification key for `alg`, refusing a key of another type or curve.
fn decoding_key(
    alg: Algorithm,
    alg_name: &str,
    key: &PublicJwk,
    kid: &str,
) -> Result<DecodingKey, TokenError> {
    let matches = matches!(
        (alg, key),
        (
            Algorithm::ES256,
            PublicJwk::Ec {
                crv: EcCurve::P256,
                ..
            }
        ) | (
            Algorithm::ES384,
            PublicJwk::Ec {
                crv: EcCurve::P384,
                ..
            }
        ) | (
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
            PublicJwk::Rsa { .. }
        )
    );
    if !matches {
        let kty = match key {
            PublicJwk::Ec { crv, .. } => format!("EC {crv}"),
            PublicJwk::Rsa { .. } => "RSA".to_owned(),
        };
        return Err(TokenError::AlgorithmMismatch {
            alg: alg_name.to_owned(),
            kty,
            kid: excerpt(kid),
        });
    }
    match key {
        PublicJwk::Ec { x, y, .. } => {
            DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y))
                .map_err(|_| TokenError::BadKey(excerpt(kid)))
        }
        PublicJwk::Rsa { n, e } => Ok(DecodingKey::from_rsa_raw_components(n, e)),
    }
}

/// A short, printable excerpt of a token-supplied value.
fn excerpt(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT)
        .collect()
}
