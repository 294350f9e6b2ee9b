//! The audit events of API keys (target `tessera::audit`): created, first used, refused,
//! revoked. Never the secret.

use std::net::IpAddr;

use super::authenticator::{ApiKeyDenial, AuthenticatedKey};
use crate::datastore::{ApiKeyRecord, TenantId};

const AUDIT: &str = "tessera::audit";

fn source_text(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

/// `api_key_created`.
pub fn created(tenant: &TenantId, key: &ApiKeyRecord, actor: &str) {
    tracing::info!(
        target: AUDIT,
        event = "api_key_created",
        actor,
        %tenant,
        key_id = %key.id,
        owner = %key.owner.key(),
        scope = %key.scopes.join(" "),
        expires_at = key.expires_at,
    );
}

/// `api_key_revoked`.
pub fn revoked(tenant: &TenantId, key: &ApiKeyRecord, actor: &str) {
    tracing::info!(
        target: AUDIT,
        event = "api_key_revoked",
        actor,
        %tenant,
        key_id = %key.id,
        owner = %key.owner.key(),
    );
}

/// `api_key_used`: the first use of a key (later uses only update its last-use record).
pub fn used_first(key: &AuthenticatedKey, source: Option<IpAddr>) {
    tracing::info!(
        target: AUDIT,
        event = "api_key_used",
        decision = "allow",
        reason = "first_use",
        tenant = %key.tenant,
        key_id = %key.id,
        owner = %key.owner.key(),
        source = %source_text(source),
    );
}

/// `api_key_refused`: a failed use, with the key ID when the key was found.
pub fn refused(tenant: &TenantId, denial: &ApiKeyDenial, source: Option<IpAddr>) {
    if let ApiKeyDenial::Unavailable(detail) = denial {
        tracing::warn!(%detail, "API key check: datastore unavailable");
    }
    tracing::info!(
        target: AUDIT,
        event = "api_key_refused",
        decision = "deny",
        reason = denial.reason(),
        %tenant,
        key_id = denial.key_id().unwrap_or("-"),
        source = %source_text(source),
    );
}
