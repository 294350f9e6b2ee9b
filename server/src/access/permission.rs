//! One permission per admin capability, with stable dotted names (`entries.write`).

use std::fmt;
use std::str::FromStr;

/// What an admin RPC needs. The names (`entries.write`, …) are stable: configs, audit
/// events and denials use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// Read registration entries.
    EntriesRead,
    /// Create, update and delete registration entries.
    EntriesWrite,
    /// Read attested agents.
    AgentsRead,
    /// Evict and ban agents.
    AgentsWrite,
    /// Create join tokens (the answer is a secret).
    JoinTokensCreate,
    /// Read this trust domain's and federated bundles.
    BundlesRead,
    /// Set and delete federated bundles.
    BundlesWrite,
    /// Read federation relationships.
    FederationRead,
    /// Create, update and delete federation relationships.
    FederationWrite,
    /// Read the CA's authorities.
    AuthoritiesRead,
    /// Prepare, activate, taint and revoke authorities.
    AuthoritiesWrite,
    /// Read user accounts.
    UsersRead,
    /// Create, update, disable and delete users; set passwords.
    UsersWrite,
    /// Enroll TOTP (the answer is a secret).
    UsersSecrets,
    /// Read OAuth clients.
    ClientsRead,
    /// Create (the answer holds the first secret), update and delete OAuth clients.
    ClientsWrite,
    /// Rotate an OAuth client's secret (the answer is a secret).
    ClientsSecrets,
    /// Read API keys (never their secrets).
    ApiKeysRead,
    /// Create (the answer is the secret, shown once) and revoke API keys.
    ApiKeysWrite,
    /// Read tenants.
    TenantsRead,
    /// Create, update and delete tenants.
    TenantsWrite,
    /// The admin API's health.
    HealthRead,
    /// Ask who the caller is (`Access.WhoAmI`).
    WhoAmI,
}

/// Where a permission applies, for bindings limited to one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionScope {
    /// Acts in the tenant the call names: a tenant-limited binding may use it there.
    Tenant,
    /// Acts on the whole trust domain: never for a tenant-limited binding.
    Global,
    /// About the caller only: any binding may use it.
    Caller,
}

/// A name that is not a permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {0:?}")]
pub struct UnknownPermission(pub String);

impl Permission {
    /// Every permission, in a stable order.
    pub const ALL: &'static [Permission] = &[
        Self::EntriesRead,
        Self::EntriesWrite,
        Self::AgentsRead,
        Self::AgentsWrite,
        Self::JoinTokensCreate,
        Self::BundlesRead,
        Self::BundlesWrite,
        Self::FederationRead,
        Self::FederationWrite,
        Self::AuthoritiesRead,
        Self::AuthoritiesWrite,
        Self::UsersRead,
        Self::UsersWrite,
        Self::UsersSecrets,
        Self::ClientsRead,
        Self::ClientsWrite,
        Self::ClientsSecrets,
        Self::ApiKeysRead,
        Self::ApiKeysWrite,
        Self::TenantsRead,
        Self::TenantsWrite,
        Self::HealthRead,
        Self::WhoAmI,
    ];

    /// The stable name, e.g. `entries.write`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EntriesRead => "entries.read",
            Self::EntriesWrite => "entries.write",
            Self::AgentsRead => "agents.read",
            Self::AgentsWrite => "agents.write",
            Self::JoinTokensCreate => "join_tokens.create",
            Self::BundlesRead => "bundles.read",
            Self::BundlesWrite => "bundles.write",
            Self::FederationRead => "federation.read",
            Self::FederationWrite => "federation.write",
            Self::AuthoritiesRead => "authorities.read",
            Self::AuthoritiesWrite => "authorities.write",
            Self::UsersRead => "users.read",
            Self::UsersWrite => "users.write",
            Self::UsersSecrets => "users.secrets",
            Self::ClientsRead => "clients.read",
            Self::ClientsWrite => "clients.write",
            Self::ClientsSecrets => "clients.secrets",
            Self::ApiKeysRead => "api_keys.read",
            Self::ApiKeysWrite => "api_keys.write",
            Self::TenantsRead => "tenants.read",
            Self::TenantsWrite => "tenants.write",
            Self::HealthRead => "health.read",
            Self::WhoAmI => "whoami",
        }
    }

    /// A read that returns no secret (what `auditor` holds).
    pub fn is_read(self) -> bool {
        self.name().ends_with(".read")
    }

    /// Where the permission applies (see [`PermissionScope`]).
    pub fn scope(self) -> PermissionScope {
        match self {
            Self::UsersRead
            | Self::UsersWrite
            | Self::UsersSecrets
            | Self::ClientsRead
            | Self::ClientsWrite
            | Self::ClientsSecrets
            | Self::ApiKeysRead
            | Self::ApiKeysWrite => PermissionScope::Tenant,
            Self::WhoAmI => PermissionScope::Caller,
            _ => PermissionScope::Global,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>().unwrap(), *p);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
        assert_eq!(
            "entries.delete".parse::<Permission>(),
            Err(UnknownPermission("entries.delete".into()))
        );
    }

    #[test]
    fn secret_returning_permissions_are_not_reads() {
        for p in [
            Permission::JoinTokensCreate,
            Permission::UsersSecrets,
            Permission::ClientsSecrets,
            Permission::ApiKeysWrite,
        ] {
            assert!(!p.is_read(), "{p}");
        }
        assert!(Permission::EntriesRead.is_read());
        assert!(!Permission::WhoAmI.is_read());
    }
}
