//! The `client_credentials` grant as a plain function of the request and `now`.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tessera_proto::clock::unix_seconds;

use super::code::AUTHORIZATION_CODE;
use super::error::{ErrorCode, OAuthError};
use super::ports::AuthenticatedClient;
use crate::oauth::device::DEVICE_CODE_GRANT;
use crate::oauth::exchange::TOKEN_EXCHANGE_GRANT;

/// The grant type this server issues tokens for.
pub(crate) const CLIENT_CREDENTIALS: &str = "client_credentials";
/// The refresh-token grant (RFC 6749 §6), see [`super::refresh`].
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";

/// What the token endpoint decided to issue (before signing).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issuance {
    /// The RFC 9068 claims, exactly `iss, sub, aud, exp, iat, jti, client_id, scope`, plus
    /// `cnf` for certificate-bound tokens (RFC 8705).
    pub(crate) claims: Map<String, Value>,
    /// Granted scope (space separated).
    pub(crate) scope: String,
    /// Seconds until `exp`.
    pub(crate) expires_in: i64,
}

/// Token exchange on a server built without it (see `OAuthServer::with_token_exchange`).
pub(crate) const EXCHANGE_OFF: OAuthError = OAuthError::new(
    ErrorCode::UnsupportedGrantType,
    "token exchange is not enabled",
);

/// Checks that `grant_type` is one we support.
pub(crate) fn check_grant_type(grant_type: Option<&str>) -> Result<(), OAuthError> {
    match grant_type {
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "grant_type is required",
        )),
        Some(
            CLIENT_CREDENTIALS | TOKEN_EXCHANGE_GRANT | AUTHORIZATION_CODE | REFRESH_TOKEN
            | DEVICE_CODE_GRANT,
        ) => Ok(()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        )),
    }
}

/// Input of [`decide`].
#[derive(Debug)]
pub(crate) struct GrantRequest<'a> {
    /// The `scope` parameter.
    pub(crate) scope: Option<&'a str>,
    /// The `resource` and `audience` parameters together.
    pub(crate) targets: Vec<&'a str>,
    /// A random token id.
    pub(crate) jti: String,
}

/// Decides the token for an authenticated client at `now`.
pub(crate) fn decide(
    client: &AuthenticatedClient,
    request: &GrantRequest<'_>,
    issuer: &str,
    default_ttl: Duration,
    signing_deadline: Option<SystemTime>,
    now: SystemTime,
) -> Result<Issuance, OAuthError> {
    if !client.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use client_credentials",
        ));
    }
    let scopes = granted_scopes(client, request.scope)?;
    let audiences = granted_audiences(client, &request.targets, issuer)?;
    let spec = AccessToken {
        subject: &client.client_id,
        client,
        audiences,
        scopes,
        jti: &request.jti,
    };
    access_token_claims(&spec, issuer, default_ttl, signing_deadline, now)
}

/// What an access token is issued for, whatever the grant.
#[derive(Debug)]
pub(crate) struct AccessToken<'a> {
    /// `sub`: the client itself (`client_credentials`) or the user's opaque ID.
    pub(crate) subject: &'a str,
    /// The authenticated client (`client_id`, its access-token TTL, its certificate
    /// thumbprint for `cnf`).
    pub(crate) client: &'a AuthenticatedClient,
    /// `aud` (see [`granted_audiences`]).
    pub(crate) audiences: Vec<String>,
    /// Granted scopes.
    pub(crate) scopes: Vec<String>,
    /// A random token id ([`new_jti`]).
    pub(crate) jti: &'a str,
}

/// The RFC 9068 claims of an access token at `now`: `iss, sub, aud, exp, iat, jti,
/// client_id, scope` (+ `cnf` for certificate-bound clients), `exp` capped by the signing
/// key's deadline.
pub(crate) fn access_token_claims(
    spec: &AccessToken<'_>,
    issuer: &str,
    default_ttl: Duration,
    signing_deadline: Option<SystemTime>,
    now: SystemTime,
) -> Result<Issuance, OAuthError> {
    let client = spec.client;
    let iat = unix_seconds(now);
    let ttl = client.access_token_ttl.unwrap_or(default_ttl);
    let mut exp = iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    if let Some(deadline) = signing_deadline {
        exp = exp.min(unix_seconds(deadline));
    }
    if exp <= iat {
        return Err(OAuthError::new(
            ErrorCode::Unavailable,
            "no signing key can cover a token now",
        ));
    }
    let scope = spec.scopes.join(" ");
    let aud = match spec.audiences.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(spec.subject));
    claims.insert("aud".into(), aud);
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(iat));
    claims.insert("jti".into(), json!(spec.jti));
    claims.insert("client_id".into(), json!(client.client_id));
    claims.insert("scope".into(), json!(scope));
    if let Some(thumbprint) = &client.certificate_thumbprint {
        claims.insert("cnf".into(), json!({ "x5t#S256": thumbprint }));
    }
    Ok(Issuance {
        claims,
        scope,
        expires_in: exp - iat,
    })
}

/// Requested ⊆ the client's scopes (else `invalid_scope`); omitted means all of them.
fn granted_scopes(
    client: &AuthenticatedClient,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    scopes_within(&client.scopes, requested)
}

/// Requested ⊆ `allowed` (else `invalid_scope`), deduplicated in request order; omitted
/// means all of `allowed`.
pub(crate) fn scopes_within(
    allowed: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed.to_vec());
    };
    let mut granted: Vec<String> = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        let valid_chars = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid_chars || !allowed.iter().any(|s| s == token) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "requested scope is not allowed",
            ));
        }
        if !granted.iter().any(|g| g == token) {
            granted.push(token.to_owned());
        }
    }
    Ok(granted)
}

/// Each requested target must be an allowed audience (else `invalid_target`);
/// none requested means all allowed, or the issuer when the client has none.
pub(crate) fn granted_audiences(
    client: &AuthenticatedClient,
    targets: &[&str],
    issuer: &str,
) -> Result<Vec<String>, OAuthError> {
    if targets.is_empty() {
        return Ok(if client.audiences.is_empty() {
            vec![issuer.to_owned()]
        } else {
            client.audiences.clone()
        });
    }
    let mut granted: Vec<String> = Vec::new();
    for target in targets {
        if target.contains('#') || !client.audiences.iter().any(|a| a == target) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "requested resource or audience is not allowed for this client",
            ));
        }
        if !granted.iter().any(|g| g == target) {
            granted.push((*target).to_owned());
        }
    }
    Ok(granted)
}

/// A random 128-bit token id (base64url).
pub(crate) fn new_jti() -> Result<String, OAuthError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| OAuthError::new(ErrorCode::Internal, "internal error"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn client() -> AuthenticatedClient {
        AuthenticatedClient {
            client_id: "c".into(),
            scopes: vec!["read".into(), "write".into()],
            audiences: vec![],
            grant_types: vec![CLIENT_CREDENTIALS.into()],
            access_token_ttl: Some(Duration::from_secs(300)),
            certificate_thumbprint: None,
            introspect_any: false,
            single_use: None,
        }
    }

    fn request(scope: Option<&str>) -> GrantRequest<'_> {
        GrantRequest {
            scope,
            targets: vec![],
            jti: "j".into(),
        }
    }

    #[test]
    fn ttl_is_capped_by_the_signing_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let deadline = Some(now + Duration::from_secs(60));
        let ttl = Duration::from_secs(600);
        let out = decide(&client(), &request(None), "https://i", ttl, deadline, now).ok();
        assert_eq!(out.as_ref().map(|o| o.expires_in), Some(60));
        assert_eq!(
            out.map(|o| o.claims["aud"].clone()),
            Some(json!("https://i"))
        );
        let past = Some(now);
        let err = decide(&client(), &request(None), "https://i", ttl, past, now).err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::Unavailable));
    }

    #[test]
    fn scope_rules() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let ttl = Duration::from_secs(600);
        let ok = decide(
            &client(),
            &request(Some("write read write")),
            "i",
            ttl,
            None,
            now,
        );
        assert_eq!(ok.ok().map(|o| o.scope), Some("write read".to_owned()));
        let bad = decide(&client(), &request(Some("read\"x")), "i", ttl, None, now).err();
        assert_eq!(bad.map(|e| e.code), Some(ErrorCode::InvalidScope));
    }
}
