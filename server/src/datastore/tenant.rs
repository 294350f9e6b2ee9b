//! Tenants: isolated realms of users, OAuth clients, consents, sessions, codes, grants and
//! revocations (Keycloak's realms). Every tenant-owned record belongs to exactly one
//! tenant, and code reaches a tenant's records only through a store handle scoped to it
//! ([`TenantScope::for_tenant`]): on PostgreSQL the handle sets the tenant in every
//! transaction and row-level security admits nothing else; on sled it holds the tenant's
//! own trees.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::DatastoreError;

/// The tenant that single-tenant setups (and everything before tenants existed) use.
pub const DEFAULT_TENANT: &str = "default";

/// The longest tenant ID (a DNS label).
pub const MAX_TENANT_ID: usize = 63;

/// A tenant's ID: 1–63 characters of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit (a DNS label, so it is safe in URLs, sled tree names and SQL literals).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

/// Why a string is not a tenant ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantIdError {
    /// Empty.
    #[error("tenant ID is empty")]
    Empty,
    /// More than [`MAX_TENANT_ID`] characters.
    #[error("tenant ID is longer than {MAX_TENANT_ID} characters")]
    TooLong,
    /// A character outside `a-z 0-9 -`, or a `-` at either end.
    #[error("tenant ID {0:?} must be lowercase letters, digits and inner '-' (like a DNS label)")]
    Invalid(String),
}

impl TenantId {
    /// Parses a tenant ID.
    pub fn parse(text: &str) -> Result<Self, TenantIdError> {
        if text.is_empty() {
            return Err(TenantIdError::Empty);
        }
        if text.len() > MAX_TENANT_ID {
            return Err(TenantIdError::TooLong);
        }
        let allowed = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
        let bytes = text.as_bytes();
        if !bytes.iter().all(|&c| allowed(c))
            || bytes.first() == Some(&b'-')
            || bytes.last() == Some(&b'-')
        {
            let shown: String = text.chars().take(MAX_TENANT_ID).collect();
            return Err(TenantIdError::Invalid(shown));
        }
        Ok(Self(Arc::from(text)))
    }

    /// The `default` tenant.
    pub fn default_tenant() -> Self {
        Self(Arc::from(DEFAULT_TENANT))
    }

    /// Parses `text`, the empty string meaning the `default` tenant (wire requests that
    /// predate tenants leave it empty).
    pub fn parse_or_default(text: &str) -> Result<Self, TenantIdError> {
        if text.is_empty() {
            Ok(Self::default_tenant())
        } else {
            Self::parse(text)
        }
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `true` for the `default` tenant.
    pub fn is_default(&self) -> bool {
        &*self.0 == DEFAULT_TENANT
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::default_tenant()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", &self.0)
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Its ID (in URLs: `<base>/t/<id>`).
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The tenants themselves: the one cross-tenant path (listing and managing tenants).
pub trait TenantStore: Send + Sync + 'static {
    /// Stores a new tenant; [`DatastoreError::AlreadyExists`] when the ID is taken.
    fn create_tenant(
        &self,
        tenant: &TenantRecord,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// One tenant (`default` always exists).
    fn get_tenant(
        &self,
        id: &TenantId,
    ) -> impl Future<Output = Result<Option<TenantRecord>, DatastoreError>> + Send;

    /// Every tenant, ordered by ID.
    fn list_tenants(
        &self,
    ) -> impl Future<Output = Result<Vec<TenantRecord>, DatastoreError>> + Send;

    /// Replaces a tenant's name; [`DatastoreError::NotFound`] when absent.
    fn update_tenant(
        &self,
        tenant: &TenantRecord,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes a tenant and every record it owns; `false` when there was none. The
    /// `default` tenant is never deleted (`InvalidArgument` at the API, `Conflict` here).
    fn delete_tenant(
        &self,
        id: &TenantId,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;
}

/// A store handle scoped to one tenant: its tenant-owned stores (users, OAuth clients,
/// consents, grants, short-lived records) see that tenant's records only. The handle a
/// store opens with is scoped to `default`.
pub trait TenantScope: Sized {
    /// The tenant this handle is scoped to.
    fn tenant(&self) -> &TenantId;

    /// A handle on the same datastore scoped to `tenant` (whether it exists is the
    /// caller's check: [`TenantStore::get_tenant`]).
    fn for_tenant(&self, tenant: &TenantId) -> Result<Self, DatastoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_dns_labels() {
        for good in ["default", "acme", "a", "team-7", &"x".repeat(63)] {
            assert_eq!(TenantId::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(TenantId::parse(""), Err(TenantIdError::Empty));
        assert_eq!(
            TenantId::parse(&"x".repeat(64)),
            Err(TenantIdError::TooLong)
        );
        for bad in [
            "Acme", "-a", "a-", "a_b", "a/b", "a.b", "a b", "ä", "a'b", "a\0",
        ] {
            assert!(
                matches!(TenantId::parse(bad), Err(TenantIdError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(TenantId::parse_or_default("").unwrap().is_default());
        assert!(!TenantId::parse("acme").unwrap().is_default());
    }
}
