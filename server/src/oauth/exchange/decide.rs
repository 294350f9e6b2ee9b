//! The exchange decision as a plain function of the client, the validated subject, the
//! policies, the request and `now`: which policy allows it, and the RFC 9068 claims.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tessera_proto::clock::unix_seconds;

use super::error::ExchangeError;
use super::policy::ExchangePolicy;
use super::subject::Subject;
use crate::oauth::http::AuthenticatedClient;

/// `grant_type` of token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only `requested_token_type` (and the `issued_token_type`): an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// What the caller asked for besides the subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeRequest<'a> {
    /// `audience` and `resource` parameters together.
    pub audiences: Vec<&'a str>,
    /// The `scope` parameter.
    pub scope: Option<&'a str>,
}

/// Where and when the token is issued.
#[derive(Debug, Clone)]
pub struct IssueContext<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// The server's access-token lifetime (the client's own takes precedence).
    pub default_ttl: Duration,
    /// The signing key's retirement, if any.
    pub signing_deadline: Option<SystemTime>,
    /// The token id.
    pub jti: &'a str,
    /// The time of the request.
    pub now: SystemTime,
}

/// An allowed exchange, before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchanged {
    /// Exactly `iss, sub, aud, exp, iat, jti, client_id, scope` (plus `cnf` for a
    /// certificate-authenticated client, RFC 8705).
    pub claims: Map<String, Value>,
    /// The granted audiences.
    pub audiences: Vec<String>,
    /// The granted scope (space separated).
    pub scope: String,
    /// Seconds until `exp`.
    pub expires_in: i64,
}

/// Whether `client` is registered for the token-exchange grant.
pub fn check_client(client: &AuthenticatedClient) -> Result<(), ExchangeError> {
    if client.grant_types.iter().any(|g| g == TOKEN_EXCHANGE_GRANT) {
        Ok(())
    } else {
        Err(ExchangeError::UnauthorizedClient)
    }
}

/// Decides the exchange. Default deny: some policy must admit the subject and the client,
/// and cover every requested audience and scope. No audience requested: allowed only when
/// the admitting policies name exactly one audience (a token for several audiences is never
/// issued implicitly). No scope requested: the chosen policy's scopes. The token expires
/// at the earliest of the TTL, the subject token's `exp` and the signing key's retirement.
pub fn decide(
    client: &AuthenticatedClient,
    subject: &Subject,
    policies: &[ExchangePolicy],
    request: &ExchangeRequest<'_>,
    ctx: &IssueContext<'_>,
) -> Result<Exchanged, ExchangeError> {
    check_client(client)?;
    let requested_scopes = parse_scope(request.scope)?;
    let admitting: Vec<&ExchangePolicy> = policies
        .iter()
        .filter(|p| p.admits(&subject.id, &client.client_id))
        .collect();
    if admitting.is_empty() {
        return Err(ExchangeError::NoPolicy);
    }
    let audiences = match dedup(&request.audiences) {
        requested if !requested.is_empty() => requested,
        _ => {
            let mut all: Vec<&str> = Vec::new();
            for a in admitting.iter().flat_map(|p| &p.audiences) {
                if !all.contains(&a.as_str()) {
                    all.push(a);
                }
            }
            match all.as_slice() {
                [one] => vec![(*one).to_owned()],
                _ => {
                    return Err(ExchangeError::Target(
                        "audience is required: the exchange policy allows several",
                    ));
                }
            }
        }
    };
    let mut covering = admitting
        .into_iter()
        .filter(|p| audiences.iter().all(|a| p.audiences.contains(a)))
        .peekable();
    let Some(first) = covering.peek().copied() else {
        return Err(ExchangeError::Target(
            "requested audience is not allowed by the exchange policy",
        ));
    };
    let scopes = match requested_scopes {
        None => first.scopes.clone(),
        Some(requested) if covering.any(|p| requested.iter().all(|s| p.scopes.contains(s))) => {
            requested
        }
        Some(_) => return Err(ExchangeError::Scope),
    };

    let iat = unix_seconds(ctx.now);
    let ttl = client.access_token_ttl.unwrap_or(ctx.default_ttl);
    let by_ttl = iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let by_subject = unix_seconds(subject.expires_at);
    if by_subject <= iat {
        return Err(ExchangeError::BadRequest("subject_token has expired"));
    }
    let mut exp = by_ttl.min(by_subject);
    if let Some(deadline) = ctx.signing_deadline {
        exp = exp.min(unix_seconds(deadline));
    }
    if exp <= iat {
        return Err(ExchangeError::Unavailable(
            "no signing key can cover a token now".into(),
        ));
    }
    let scope = scopes.join(" ");
    let aud = match audiences.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(ctx.issuer));
    claims.insert("sub".into(), json!(subject.id));
    claims.insert("aud".into(), aud);
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(iat));
    claims.insert("jti".into(), json!(ctx.jti));
    claims.insert("client_id".into(), json!(client.client_id));
    claims.insert("scope".into(), json!(scope));
    if let Some(thumbprint) = &client.certificate_thumbprint {
        claims.insert("cnf".into(), json!({ "x5t#S256": thumbprint }));
    }
    Ok(Exchanged {
        claims,
        audiences,
        scope,
        expires_in: exp - iat,
    })
}

fn dedup(values: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.iter().any(|o| o == v) {
            out.push((*v).to_owned());
        }
    }
    out
}

/// The requested scopes (RFC 6749 §3.3 syntax), deduplicated; `None` when omitted.
fn parse_scope(scope: Option<&str>) -> Result<Option<Vec<String>>, ExchangeError> {
    let Some(scope) = scope else {
        return Ok(None);
    };
    let tokens: Vec<&str> = scope.split(' ').filter(|t| !t.is_empty()).collect();
    let valid = tokens.iter().all(|t| {
        t.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
    });
    if !valid {
        return Err(ExchangeError::Scope);
    }
    Ok(Some(dedup(&tokens)))
}
