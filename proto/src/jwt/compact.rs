//! Splitting a compact JWS into its decoded header and claims (RFC 7515 §7.1).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::JwtError;

/// The longest compact JWS accepted, in bytes (Kubernetes service-account tokens are ~1 KiB,
/// JWT-SVIDs and client assertions less).
pub const MAX_COMPACT_LEN: usize = 32 * 1024;

/// Longest excerpt of a member name put in an error.
const EXCERPT: usize = 40;

/// A segment of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims (payload).
    Claims,
    /// The signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Claims => "claims",
            Self::Signature => "signature",
        })
    }
}

/// A split compact JWS: decoded header and claims, the signing input and the signature, all
/// unverified.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactJws<'a> {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) . BASE64URL(claims)`: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The signature segment as sent (decoded, and so checked, by the verification).
    pub signature: &'a str,
}

/// Splits and decodes `token` (see the module documentation for the rules).
pub fn split_compact(token: &str) -> Result<CompactJws<'_>, JwtError> {
    if token.len() > MAX_COMPACT_LEN {
        return Err(JwtError::TooLong {
            len: token.len(),
            max: MAX_COMPACT_LEN,
        });
    }
    let found = token.split('.').count();
    let (signing_input, signature) = match token.rsplit_once('.') {
        Some(pair) if found == 3 => pair,
        _ => return Err(JwtError::SegmentCount { found }),
    };
    let (header, claims) = signing_input
        .split_once('.')
        .ok_or(JwtError::SegmentCount { found })?;
    Ok(CompactJws {
        header: object(header, Part::Header)?,
        claims: object(claims, Part::Claims)?,
        signing_input,
        signature,
    })
}

/// A base64url segment holding a JSON object without repeated member names.
fn object(segment: &str, part: Part) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Base64(part))?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let parsed = de.deserialize_any(UniqueObject { part });
    let map = match parsed {
        Ok(Ok(map)) => map,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(JwtError::Json(part)),
    };
    de.end().map_err(|_| JwtError::Json(part))?;
    Ok(map)
}

/// Reads a top-level JSON object, reporting a non-object or a repeated name as a
/// [`JwtError`] (inside `Ok`, so serde's own errors stay "not JSON").
struct UniqueObject {
    part: Part,
}

impl<'de> Visitor<'de> for UniqueObject {
    type Value = Result<Map<String, Value>, JwtError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if map.contains_key(&name) {
                return Ok(Err(JwtError::DuplicateMember {
                    part: self.part,
                    name: name
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(EXCERPT)
                        .collect(),
                }));
            }
            map.insert(name, value);
        }
        Ok(Ok(map))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Err(JwtError::NotAnObject(self.part)))
    }
}
