//! [`ApiKeyManager`]: creating, reading, listing and revoking keys, for the admin API, the
//! CLI (through it) and the self-service page. Creation enforces least privilege: scopes
//! within what the owner may get, a required expiry within `[api_keys] max_lifetime`.

use std::time::{Duration, SystemTime};

use tessera_proto::clock::unix_seconds;
use tessera_proto::duration::format_duration;

use super::audit;
use super::cidr::{Cidr, CidrError};
use super::format::{ApiKeySecret, new_key_id};
use super::scopes::{ScopeError, check_scopes};
use crate::config::ApiKeysSection;
use crate::datastore::{
    ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError, OAuthClientStore, Page, TenantId,
    TenantScope, UserStore,
};

/// The longest key name.
pub const MAX_NAME: usize = 200;
/// The most scopes, audiences or networks of one key.
pub const MAX_ITEMS: usize = 64;

/// What a new key is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Its owner.
    pub owner: ApiKeyOwner,
    /// Display name (1–200 characters).
    pub name: String,
    /// Scopes (within the owner's).
    pub scopes: Vec<String>,
    /// Audiences / resources (for a client-owned key, within the client's when it has any).
    pub audiences: Vec<String>,
    /// Allowed source networks (CIDR).
    pub allowed_cidrs: Vec<String>,
    /// Lifetime from now (required; at most `max_lifetime`).
    pub lifetime: Duration,
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The scopes are refused (above the owner's, malformed, none).
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The lifetime is zero or above `[api_keys] max_lifetime`.
    #[error("lifetime {asked} is not between 1s and the maximum {max} ([api_keys] max_lifetime)")]
    Lifetime {
        /// As asked.
        asked: String,
        /// The maximum.
        max: String,
    },
    /// The name is empty or too long.
    #[error("name must be 1 to {MAX_NAME} characters")]
    Name,
    /// Too many scopes, audiences or networks.
    #[error("at most {MAX_ITEMS} scopes, audiences and networks each")]
    TooMany,
    /// A network is not a CIDR.
    #[error(transparent)]
    Cidr(#[from] CidrError),
    /// An audience is empty, or outside the owning client's audiences.
    #[error("audience {0:?} is not one the key's owner may target")]
    Audience(String),
    /// The owner does not exist (in this tenant).
    #[error("no {0} in this tenant")]
    OwnerNotFound(String),
    /// No such key.
    #[error("no API key {0}")]
    NotFound(String),
    /// The datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// No randomness for the secret.
    #[error("the system random generator failed")]
    Random,
}

/// Manages the keys of every tenant of a store.
#[derive(Debug, Clone)]
pub struct ApiKeyManager<S> {
    store: S,
    settings: ApiKeysSection,
}

impl<S> ApiKeyManager<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantScope + Clone,
{
    /// Keys in `store` under `settings`.
    pub fn new(store: S, settings: ApiKeysSection) -> Self {
        Self { store, settings }
    }

    /// The settings (`[api_keys]`).
    pub fn settings(&self) -> &ApiKeysSection {
        &self.settings
    }

    /// Creates a key in `tenant` (by `actor`, for the audit event). Returns the record and
    /// the secret, which is never shown again.
    pub async fn create(
        &self,
        tenant: &TenantId,
        new: NewApiKey,
        actor: &str,
        now: SystemTime,
    ) -> Result<(ApiKeyRecord, ApiKeySecret), ApiKeyError> {
        let store = self.store.for_tenant(tenant)?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ApiKeyError::Name);
        }
        if [&new.scopes, &new.audiences, &new.allowed_cidrs]
            .iter()
            .any(|v| v.len() > MAX_ITEMS)
        {
            return Err(ApiKeyError::TooMany);
        }
        if new.lifetime.is_zero() || new.lifetime > self.settings.max_lifetime {
            return Err(ApiKeyError::Lifetime {
                asked: format_duration(new.lifetime),
                max: format_duration(self.settings.max_lifetime),
            });
        }
        let cidrs = new
            .allowed_cidrs
            .iter()
            .map(|c| Cidr::parse(c.trim()).map(|c| c.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let (allowed_scopes, allowed_audiences, owner_created_at) = match &new.owner {
            ApiKeyOwner::User(id) => {
                let user = store
                    .get_user(id)
                    .await?
                    .ok_or_else(|| ApiKeyError::OwnerNotFound(format!("user {id}")))?;
                (
                    self.settings.user_scopes.clone(),
                    Vec::new(),
                    user.created_at,
                )
            }
            ApiKeyOwner::Client(id) => {
                let client = store
                    .get_oauth_client(id)
                    .await?
                    .ok_or_else(|| ApiKeyError::OwnerNotFound(format!("client {id}")))?;
                (client.scopes, client.audiences, client.created_at)
            }
        };
        let scopes = check_scopes(&new.scopes, &allowed_scopes)?;
        let mut audiences = new.audiences.clone();
        audiences.sort();
        audiences.dedup();
        if let Some(bad) = audiences.iter().find(|a| {
            a.is_empty()
                || a.chars().any(char::is_whitespace)
                || (!allowed_audiences.is_empty() && !allowed_audiences.contains(a))
        }) {
            return Err(ApiKeyError::Audience(bad.clone()));
        }
        let secret = ApiKeySecret::generate().map_err(|_| ApiKeyError::Random)?;
        let created_at = unix_seconds(now);
        let lifetime = i64::try_from(new.lifetime.as_secs()).unwrap_or(i64::MAX);
        let record = ApiKeyRecord {
            id: new_key_id().map_err(|_| ApiKeyError::Random)?,
            name: name.to_owned(),
            owner: new.owner,
            scopes,
            audiences,
            allowed_cidrs: cidrs,
            created_at,
            expires_at: created_at.saturating_add(lifetime),
            revoked_at: None,
            last_used_at: None,
            last_used_from: None,
            secret_hash: secret.hash(),
            owner_created_at,
        };
        store.create_api_key(&record).await?;
        audit::created(tenant, &record, actor);
        Ok((record, secret))
    }

    /// One key of `tenant`.
    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<ApiKeyRecord, ApiKeyError> {
        self.store
            .for_tenant(tenant)?
            .get_api_key(id)
            .await?
            .ok_or_else(|| ApiKeyError::NotFound(id.to_owned()))
    }

    /// Keys of `tenant` (of `owner` only, when given), by ID.
    pub async fn list(
        &self,
        tenant: &TenantId,
        owner: Option<&ApiKeyOwner>,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<ApiKeyRecord>, ApiKeyError> {
        Ok(self
            .store
            .for_tenant(tenant)?
            .list_api_keys(owner, page_token, page_size)
            .await?)
    }

    /// Revokes a key of `tenant` (by `actor`); it stops working at once.
    pub async fn revoke(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: &str,
        now: SystemTime,
    ) -> Result<ApiKeyRecord, ApiKeyError> {
        let record = self
            .store
            .for_tenant(tenant)?
            .revoke_api_key(id, unix_seconds(now))
            .await?
            .ok_or_else(|| ApiKeyError::NotFound(id.to_owned()))?;
        audit::revoked(tenant, &record, actor);
        Ok(record)
    }
}

/// Deletes every key of a deleted `owner` (the keys already failed at use: the owner is
/// checked every time) and logs `api_keys_deleted`. A failure is logged, not returned: the
/// owner is gone either way.
pub async fn forget_owner_keys<S: ApiKeyStore + TenantScope>(store: &S, owner: &ApiKeyOwner) {
    match store.delete_owner_api_keys(owner).await {
        Ok(n) => tracing::info!(
            target: "tessera::audit",
            event = "api_keys_deleted",
            tenant = %store.tenant(),
            owner = %owner.key(),
            keys = n,
        ),
        Err(e) => {
            tracing::error!(owner = %owner.key(), error = %e, "could not delete the owner's API keys");
        }
    }
}
