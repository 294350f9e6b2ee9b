//! JWT-SVIDs: JWS compact serialization with `kid` and `typ: JWT`.

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
    let header = Header {
        alg: key.key_type().jws_alg(),
        kid,
        typ: "JWT",
    };
    let claims = Claims {
        sub: spiffe_id.as_str(),
        aud: audience,
        exp: unix_seconds(expires_at),
        iat: unix_seconds(issued_at),
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
