//! [`ApiKeyAuthenticator`]: from a presented key string to the key and its owner, with
//! every check made at use time (format and checksum, existence by hash, revocation,
//! expiry, source network, owner existing and enabled), so revoking a key or disabling
//! or deleting its owner stops it at once.

use std::net::IpAddr;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use super::audit;
use super::cidr::source_allowed;
use super::format::{KeyFormatError, hash_key, parse_key, same_hash};
use super::usage::UsageLog;
use crate::datastore::{
    ApiKeyOwner, ApiKeyRecord, ApiKeyStore, DatastoreError, OAuthClientStore, TenantId,
    TenantScope, UserStore,
};

/// A key that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKey {
    /// The key's ID (`ak_…`).
    pub id: String,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its owner.
    pub owner: ApiKeyOwner,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its audiences (empty: the issuer's default).
    pub audiences: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a presented key is refused. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyDenial {
    /// Not a well-formed Tessera key (no lookup was made).
    #[error(transparent)]
    Malformed(#[from] KeyFormatError),
    /// Well-formed, but no such key.
    #[error("unknown API key")]
    Unknown,
    /// The key was revoked.
    #[error("API key {0} is revoked")]
    Revoked(String),
    /// The key expired.
    #[error("API key {0} has expired")]
    Expired(String),
    /// Used from outside the key's allowed networks.
    #[error("API key {0} may not be used from this source address")]
    SourceNotAllowed(String),
    /// The owner is disabled.
    #[error("the owner of API key {0} is disabled")]
    OwnerDisabled(String),
    /// The owner no longer exists.
    #[error("the owner of API key {0} no longer exists")]
    OwnerGone(String),
    /// The datastore could not be read (logged, never sent).
    #[error("datastore unavailable: {0}")]
    Unavailable(String),
}

impl ApiKeyDenial {
    /// The key's ID, when the key was found.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Self::Revoked(id)
            | Self::Expired(id)
            | Self::SourceNotAllowed(id)
            | Self::OwnerDisabled(id)
            | Self::OwnerGone(id) => Some(id),
            _ => None,
        }
    }

    /// What a caller is told (the precise reason goes to the audit event only): the same
    /// at the token endpoint and on the admin API.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "temporarily unavailable",
            Self::Malformed(_) => "the API key is malformed",
            _ => "the API key is invalid, expired or revoked",
        }
    }

    /// A short machine-readable reason (audit events).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(KeyFormatError::Checksum) => "checksum",
            Self::Malformed(_) => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked(_) => "revoked",
            Self::Expired(_) => "expired",
            Self::SourceNotAllowed(_) => "source_not_allowed",
            Self::OwnerDisabled(_) => "owner_disabled",
            Self::OwnerGone(_) => "owner_gone",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

fn unavailable(e: DatastoreError) -> ApiKeyDenial {
    ApiKeyDenial::Unavailable(e.to_string())
}

/// Checks presented keys against a store (scoped per request to the key's tenant) and
/// notes their use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiKeyAuthenticator<S> {
    store: S,
    usage: UsageLog,
}

impl<S> ApiKeyAuthenticator<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantScope + Clone,
{
    /// Keys of `store` (any tenant's handle), their uses noted in `usage`.
    pub fn new(store: S, usage: UsageLog) -> Self {
        Self { store, usage }
    }

    /// The checks of a key presented in `tenant` from `source` at `now`. Every outcome is
    /// an audit event (first use, or a failure with its reason and the key ID when known).
    pub async fn authenticate(
        &self,
        tenant: &TenantId,
        presented: &str,
        source: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<AuthenticatedKey, ApiKeyDenial> {
        let result = self.check(tenant, presented, source, now).await;
        match &result {
            Ok((key, first)) => {
                if *first {
                    audit::used_first(key, source);
                }
            }
            Err(denial) => audit::refused(tenant, denial, source),
        }
        result.map(|(key, _)| key)
    }

    async fn check(
        &self,
        tenant: &TenantId,
        presented: &str,
        source: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<(AuthenticatedKey, bool), ApiKeyDenial> {
        parse_key(presented)?;
        let store = self.store.for_tenant(tenant).map_err(unavailable)?;
        let hash = hash_key(presented);
        let record = store
            .find_api_key(&hash)
            .await
            .map_err(unavailable)?
            .filter(|r| same_hash(&r.secret_hash, &hash))
            .ok_or(ApiKeyDenial::Unknown)?;
        let now = unix_seconds(now);
        check_record(&record, source, now)?;
        check_owner(&store, &record).await?;
        let first = record.last_used_at.is_none() && !self.usage.is_pending(tenant, &record.id);
        self.usage.note(tenant, &record.id, now, source);
        Ok((authenticated(tenant, record), first))
    }
}

/// The record's own checks: revocation, expiry, source network.
pub fn check_record(
    record: &ApiKeyRecord,
    source: Option<IpAddr>,
    now: i64,
) -> Result<(), ApiKeyDenial> {
    let id = || record.id.clone();
    if record.revoked_at.is_some_and(|at| at <= now) {
        return Err(ApiKeyDenial::Revoked(id()));
    }
    if now >= record.expires_at {
        return Err(ApiKeyDenial::Expired(id()));
    }
    if !source_allowed(&record.allowed_cidrs, source) {
        return Err(ApiKeyDenial::SourceNotAllowed(id()));
    }
    Ok(())
}

/// The owner exists and is enabled.
async fn check_owner<S: UserStore + OAuthClientStore>(
    store: &S,
    record: &ApiKeyRecord,
) -> Result<(), ApiKeyDenial> {
    let id = || record.id.clone();
    match &record.owner {
        ApiKeyOwner::User(user_id) => match store.get_user(user_id).await.map_err(unavailable)? {
            Some(user) if user.created_at != record.owner_created_at => {
                Err(ApiKeyDenial::OwnerGone(id()))
            }
            None => Err(ApiKeyDenial::OwnerGone(id())),
            Some(user) if user.disabled => Err(ApiKeyDenial::OwnerDisabled(id())),
            Some(_) => Ok(()),
        },
        ApiKeyOwner::Client(client_id) => {
            match store
                .get_oauth_client(client_id)
                .await
                .map_err(unavailable)?
            {
                // Another client made under the same ID after the owner was deleted.
                Some(client) if client.created_at != record.owner_created_at => {
                    Err(ApiKeyDenial::OwnerGone(id()))
                }
                None => Err(ApiKeyDenial::OwnerGone(id())),
                Some(client) if !client.enabled => Err(ApiKeyDenial::OwnerDisabled(id())),
                Some(_) => Ok(()),
            }
        }
    }
}

fn authenticated(tenant: &TenantId, record: ApiKeyRecord) -> AuthenticatedKey {
    AuthenticatedKey {
        id: record.id,
        tenant: tenant.clone(),
        owner: record.owner,
        scopes: record.scopes,
        audiences: record.audiences,
        created_at: record.created_at,
        expires_at: record.expires_at,
    }
}
