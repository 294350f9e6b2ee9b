//! OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6): minimal claims, profile and e-mail
//! claims come from the UserInfo endpoint.

use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::oauth::codes::CodeGrant;

/// The `openid` scope that asks for an ID token.
pub(crate) const OPENID: &str = "openid";

/// The JWS `typ` of ID tokens.
pub(crate) const ID_TOKEN_TYP: &str = "JWT";

/// `at_hash`: base64url of the left half of the hash of the access token, with the hash of
/// the access token's (and so the ID token's: same key) `alg` — SHA-256 for ES256/RS256.
pub(crate) fn at_hash(access_token: &str) -> String {
    let alg = jsonwebtoken::decode_header(access_token).map(|h| h.alg);
    let algorithm = match alg {
        Ok(Algorithm::ES384 | Algorithm::RS384 | Algorithm::PS384) => &SHA384,
        Ok(Algorithm::RS512 | Algorithm::PS512) => &SHA512,
        _ => &SHA256,
    };
    let hash = digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// The ID token claims for the user and client of `grant`, issued with the access token
/// whose claims are `access` (same `iss`, `iat` and `exp`).
pub(crate) fn claims(
    grant: &CodeGrant,
    access: &Map<String, Value>,
    access_token: &str,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for name in ["iss", "iat", "exp"] {
        if let Some(value) = access.get(name) {
            claims.insert(name.into(), value.clone());
        }
    }
    claims.insert("sub".into(), json!(grant.user_id));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("azp".into(), json!(grant.client_id));
    claims.insert("auth_time".into(), json!(grant.auth_time));
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("at_hash".into(), json!(at_hash(access_token)));
    if !grant.amr.is_empty() {
        claims.insert("amr".into(), json!(grant.amr));
    }
    claims
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // 16 bytes of hash → 22 base64url characters.
        let h = at_hash("token");
        assert_eq!(h.len(), 22);
        let full = digest(&SHA256, b"token");
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap(), full.as_ref()[..16]);
    }
}
