//! API keys at the token endpoint and at introspection (issue 17).
//!
//! - Token exchange (RFC 8693) with `subject_token_type`
//!   `urn:tessera:params:oauth:token-type:api-key`: any authenticated client of the
//!   tenant may exchange a key of that tenant for a short-lived RFC 9068 access token with
//!   `sub` = the key's owner (user ID or client ID), `api_key_id` = the key's ID,
//!   `client_id` = the exchanging client, `scope` = requested ⊆ the key's (default all),
//!   `aud` = requested ⊆ the key's audiences (default all; a key without audiences gets
//!   tokens for the issuer only). A refused key is `invalid_grant`.
//! - Introspection (RFC 7662) of the key string itself, for resource servers that take
//!   the key: active only for a client allowed to introspect any token, or the client
//!   that owns the key; anything else is `{"active": false}`.

use std::net::IpAddr;
use std::time::SystemTime;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::endpoints::{AUDIT, no_store, refuse, sign_access_token};
use super::error::{ErrorCode, OAuthError};
use super::grant::{self, AccessToken};
use super::ports::{ApiKeyCheck, AuthenticatedClient, TokenSigner};
use super::request::Form;
use super::server::Shared;
use crate::api_keys::{API_KEY_TOKEN_TYPE, ApiKeyDenial, AuthenticatedKey};
use crate::datastore::ApiKeyOwner;
use crate::oauth::exchange::ACCESS_TOKEN_TYPE;

/// The access-token claim naming the API key a token was exchanged for.
pub const API_KEY_ID_CLAIM: &str = "api_key_id";

const EVENT: &str = "oauth_api_key_exchange";

/// Whether a token request is an API key exchange.
pub(super) fn is_api_key_exchange(form: &Form) -> bool {
    form.get("grant_type") == Some(crate::oauth::exchange::TOKEN_EXCHANGE_GRANT)
        && form.get("subject_token_type") == Some(API_KEY_TOKEN_TYPE)
}

/// The source address, `None` when unknown.
pub(super) fn known(source: IpAddr) -> Option<IpAddr> {
    (!source.is_unspecified()).then_some(source)
}

/// The error for a refused key: `invalid_grant` (503 when the store failed).
fn denial_error(denial: &ApiKeyDenial) -> OAuthError {
    let code = match denial {
        ApiKeyDenial::Unavailable(_) => ErrorCode::Unavailable,
        _ => ErrorCode::InvalidGrant,
    };
    OAuthError::new(code, denial.public_message())
}

/// Exchanges the `subject_token` API key of `form` for an access token.
pub(super) async fn exchange<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    keys: &dyn ApiKeyCheck,
    client: &AuthenticatedClient,
    form: &Form,
    source: IpAddr,
    now: SystemTime,
) -> Response {
    let id = client.client_id.as_str();
    if form.get("actor_token").is_some() || form.get("actor_token_type").is_some() {
        let e = OAuthError::new(
            ErrorCode::InvalidRequest,
            "delegation (actor_token) is not supported",
        );
        return refuse(EVENT, e, Some(id));
    }
    if !matches!(
        form.get("requested_token_type"),
        None | Some(ACCESS_TOKEN_TYPE)
    ) {
        let e = OAuthError::new(
            ErrorCode::InvalidRequest,
            "requested_token_type must be urn:ietf:params:oauth:token-type:access_token",
        );
        return refuse(EVENT, e, Some(id));
    }
    let Some(presented) = form.get("subject_token") else {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "subject_token is required");
        return refuse(EVENT, e, Some(id));
    };
    let tenant = &shared.config.tenant;
    let key = match keys
        .authenticate(tenant, presented, known(source), now)
        .await
    {
        Ok(key) => key,
        Err(denial) => return refuse(EVENT, denial_error(&denial), Some(id)),
    };
    match issue(shared, &key, client, form, now) {
        Ok((token, issuance)) => {
            tracing::info!(
                target: AUDIT,
                event = EVENT,
                client_id = id,
                decision = "allow",
                reason = "api_key",
                key_id = %key.id,
                subject = key.owner.id(),
                scope = %issuance.scope,
                jti = %issuance.claims.get("jti").cloned().unwrap_or_default(),
                expires_in = issuance.expires_in,
            );
            no_store(
                Json(json!({
                    "access_token": token,
                    "issued_token_type": ACCESS_TOKEN_TYPE,
                    "token_type": "Bearer",
                    "expires_in": issuance.expires_in,
                    "scope": issuance.scope,
                }))
                .into_response(),
            )
        }
        Err(e) => refuse(EVENT, e, Some(id)),
    }
}

/// Decides and signs the access token for `key`.
fn issue<A, S: TokenSigner>(
    shared: &Shared<A, S>,
    key: &AuthenticatedKey,
    client: &AuthenticatedClient,
    form: &Form,
    now: SystemTime,
) -> Result<(String, grant::Issuance), OAuthError> {
    let scopes = grant::scopes_within(&key.scopes, form.get("scope"))?;
    let targets: Vec<&String> = form
        .all("resource")
        .iter()
        .chain(form.all("audience"))
        .collect();
    let audiences = if targets.is_empty() {
        if key.audiences.is_empty() {
            vec![shared.config.issuer.clone()]
        } else {
            key.audiences.clone()
        }
    } else {
        let mut granted: Vec<String> = Vec::new();
        for target in targets {
            if !key.audiences.contains(target) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    "requested resource or audience is not allowed for this API key",
                ));
            }
            if !granted.contains(target) {
                granted.push(target.clone());
            }
        }
        granted
    };
    let jti = grant::new_jti()?;
    let spec = AccessToken {
        subject: key.owner.id(),
        client,
        audiences,
        scopes,
        jti: &jti,
    };
    let mut issuance = grant::access_token_claims(
        &spec,
        &shared.config.issuer,
        shared.config.access_token_ttl,
        shared.signer.signing_deadline(),
        now,
    )?;
    issuance
        .claims
        .insert(API_KEY_ID_CLAIM.into(), json!(key.id));
    let token = sign_access_token(&shared.signer, &issuance, now)?;
    Ok((token, issuance))
}

/// The introspection answer for an API key presented as `token` by `client`; `None` when
/// the token is not an API key at all (or keys are off).
pub(super) async fn introspect<A, S>(
    shared: &Shared<A, S>,
    client: &AuthenticatedClient,
    token: &str,
    now: SystemTime,
) -> Option<(&'static str, Value)> {
    let keys = shared.api_keys.get()?;
    if !token.starts_with(crate::api_keys::format::KEY_PREFIX) {
        return None;
    }
    // The presenter's address is not known here: a key limited to networks is inactive.
    let key = match keys
        .authenticate(&shared.config.tenant, token, None, now)
        .await
    {
        Ok(key) => key,
        Err(_) => return Some(("inactive", json!({"active": false}))),
    };
    let owner_client = matches!(&key.owner, ApiKeyOwner::Client(c) if c == &client.client_id);
    if !client.introspect_any && !owner_client {
        return Some(("other_client", json!({"active": false})));
    }
    let (owner_kind, client_id) = match &key.owner {
        ApiKeyOwner::User(_) => ("user", Value::Null),
        ApiKeyOwner::Client(id) => ("client", json!(id)),
    };
    let mut answer = json!({
        "active": true,
        "token_type": API_KEY_TOKEN_TYPE,
        "scope": key.scopes.join(" "),
        "sub": key.owner.id(),
        "owner_type": owner_kind,
        "api_key_id": key.id,
        "iat": key.created_at,
        "exp": key.expires_at,
        "iss": shared.config.issuer,
    });
    if !client_id.is_null()
        && let Some(map) = answer.as_object_mut()
    {
        map.insert("client_id".into(), client_id);
    }
    if !key.audiences.is_empty()
        && let Some(map) = answer.as_object_mut()
    {
        map.insert("aud".into(), json!(key.audiences));
    }
    Some(("active_api_key", answer))
}
