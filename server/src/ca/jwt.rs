//! JWS compact signing with `alg`, `kid` and `typ`: JWT-SVIDs (`typ: JWT`) and, through
//! [`sign_jws`], OAuth access tokens.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use tessera_proto::clock::unix_seconds;
use tessera_proto::identity::SpiffeId;

use super::CaError;
use super::key::PrivateKey;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    aud: &'a [String],
    exp: i64,
    iat: i64,
}

/// Signs a JWT-SVID for `spiffe_id` and `audience` with `key` (published under `kid`).
pub fn sign_jwt_svid(
    key: &PrivateKey,
    kid: &str,
    spiffe_id: &SpiffeId,
    audience: &[String],
    issued_at: SystemTime,
    expires_at: SystemTime,
) -> Result<String, CaError> {
    if audience.is_empty() || audience.iter().any(String::is_empty) {
        return Err(CaError::InvalidRequest(
            "a JWT-SVID needs at least one non-empty audience".into(),
        ));
    }
    let claims = Claims {
        sub: spiffe_id.as_str(),
        aud: audience,
        exp: unix_seconds(expires_at),
        iat: unix_seconds(issued_at),
    };
    sign_jws(key, kid, "JWT", &claims)
}

/// Signs `claims` as a JWS compact serialization with header `{"alg","kid","typ"}`; `alg`
/// follows the key type (ES256, ES384 or RS256).
pub fn sign_jws<C: Serialize + ?Sized>(
    key: &PrivateKey,
    kid: &str,
    typ: &str,
    claims: &C,
) -> Result<String, CaError> {
    let header = Header {
        alg: key.key_type().jws_alg(),
        kid,
        typ,
    };
    let signing_input = format!("{}.{}", b64_json(&header)?, b64_json(&claims)?);
    let signature = key.sign_jws(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn b64_json<T: Serialize>(value: &T) -> Result<String, CaError> {
    let json =
        serde_json::to_vec(value).map_err(|e| CaError::Crypto(format!("encoding a JWT: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}
