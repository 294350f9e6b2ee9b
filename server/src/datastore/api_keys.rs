//! API keys (issue 17): long-lived, scoped, expiring credentials owned by a user or an
//! OAuth client. Only the SHA-256 of a key's secret is stored; the record is found by its
//! ID or by that hash. Tenant-owned: a handle sees its tenant's keys only.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{DatastoreError, Page};

/// Who a key belongs to: its tokens' `sub`, and whose state (enabled, existing) decides
/// whether the key still works.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ApiKeyOwner {
    /// A user account (personal key), by user ID.
    User(String),
    /// An OAuth client (a partner system's key), by `client_id`.
    Client(String),
}

impl ApiKeyOwner {
    /// `user:<id>` or `client:<id>`: the owner as one string (index keys, listings).
    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Client(id) => format!("client:{id}"),
        }
    }

    /// The user or client ID.
    pub fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::Client(id) => id,
        }
    }
}

/// One stored API key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// `ak_…`: the key's public ID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The owner.
    pub owner: ApiKeyOwner,
    /// Scopes the key may be exchanged for.
    pub scopes: Vec<String>,
    /// Audiences / resources its tokens may target; empty: the issuer's default.
    pub audiences: Vec<String>,
    /// Source networks (CIDR) it may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; required (bounded by `[api_keys] max_lifetime`).
    pub expires_at: i64,
    /// Unix seconds of the revocation, if revoked.
    pub revoked_at: Option<i64>,
    /// Unix seconds of the last recorded use.
    pub last_used_at: Option<i64>,
    /// Source address of the last recorded use.
    pub last_used_from: Option<String>,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The owner's `created_at` when the key was made: an owner deleted and made again
    /// under the same ID (client IDs are chosen by operators) does not inherit the key.
    #[serde(default)]
    pub owner_created_at: i64,
}

/// API keys of one tenant, by ID with a unique index on the secret hash.
pub trait ApiKeyStore: Send + Sync + 'static {
    /// Stores a new key; [`DatastoreError::AlreadyExists`] when its ID or secret hash
    /// exists (nothing is written).
    fn create_api_key(
        &self,
        key: &ApiKeyRecord,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// One key by ID.
    fn get_api_key(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, DatastoreError>> + Send;

    /// One key by the SHA-256 (hex) of its secret.
    fn find_api_key(
        &self,
        secret_hash: &str,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, DatastoreError>> + Send;

    /// Keys ordered by ID (of `owner` only, when given), `page_size` at most per page.
    fn list_api_keys(
        &self,
        owner: Option<&ApiKeyOwner>,
        page_token: &str,
        page_size: usize,
    ) -> impl Future<Output = Result<Page<ApiKeyRecord>, DatastoreError>> + Send;

    /// Marks a key revoked at `now` (an earlier revocation is kept); returns the record,
    /// or `None` when absent.
    fn revoke_api_key(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, DatastoreError>> + Send;

    /// Deletes every key of `owner` (the owner itself was deleted); returns how many.
    fn delete_owner_api_keys(
        &self,
        owner: &ApiKeyOwner,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Records a use at `at` from `from` unless a later one is recorded; `false` when the
    /// key is absent.
    fn record_api_key_use(
        &self,
        id: &str,
        at: i64,
        from: Option<&str>,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;
}

impl ApiKeyRecord {
    /// The record after revoking it at `now`; `None` when it was revoked by then already
    /// (an earlier revocation is kept).
    pub fn revocation(&self, now: i64) -> Option<Self> {
        if self.revoked_at.is_some_and(|at| at <= now) {
            return None;
        }
        let mut next = self.clone();
        next.revoked_at = Some(now);
        Some(next)
    }

    /// The record after a use at `at` from `from`; `None` when a later use is recorded.
    pub fn used(&self, at: i64, from: Option<&str>) -> Option<Self> {
        if self.last_used_at.is_some_and(|last| last >= at) {
            return None;
        }
        let mut next = self.clone();
        next.last_used_at = Some(at);
        next.last_used_from = from.map(str::to_owned);
        Some(next)
    }
}
