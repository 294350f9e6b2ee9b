//! The admin roles and the permissions each holds (README "Admin roles" documents them).

use std::fmt;
use std::str::FromStr;

use super::Permission;

/// An admin role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Everything.
    Admin,
    /// The trust domain's machinery: entries, agents, join tokens, bundles, federation,
    /// authorities, health.
    Operator,
    /// Identities of people and partners: users, OAuth clients, API keys, health.
    IdentityAdmin,
    /// Every `*.read`: nothing that returns a secret, no writes.
    Auditor,
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown admin role {0:?} (one of: admin, operator, identity-admin, auditor)")]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role.
    pub const ALL: &'static [Role] = &[
        Self::Admin,
        Self::Operator,
        Self::IdentityAdmin,
        Self::Auditor,
    ];

    /// The stable name (`identity-admin`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::IdentityAdmin => "identity-admin",
            Self::Auditor => "auditor",
        }
    }

    /// Whether the role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        if permission == P::WhoAmI {
            return true;
        }
        match self {
            Self::Admin => true,
            Self::Operator => matches!(
                permission,
                P::EntriesRead
                    | P::EntriesWrite
                    | P::AgentsRead
                    | P::AgentsWrite
                    | P::JoinTokensCreate
                    | P::BundlesRead
                    | P::BundlesWrite
                    | P::FederationRead
                    | P::FederationWrite
                    | P::AuthoritiesRead
                    | P::AuthoritiesWrite
                    | P::HealthRead
            ),
            Self::IdentityAdmin => matches!(
                permission,
                P::UsersRead
                    | P::UsersWrite
                    | P::UsersSecrets
                    | P::ClientsRead
                    | P::ClientsWrite
                    | P::ClientsSecrets
                    | P::ApiKeysRead
                    | P::ApiKeysWrite
                    | P::HealthRead
            ),
            Self::Auditor => permission.is_read(),
        }
    }

    /// The role's permissions, in [`Permission::ALL`] order.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.allows(*p))
            .collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn documented_permissions() {
        use Permission as P;
        let names = |r: Role| -> Vec<&str> { r.permissions().iter().map(|p| p.name()).collect() };
        assert_eq!(Role::Admin.permissions(), Permission::ALL);
        assert_eq!(
            names(Role::Operator),
            [
                "entries.read",
                "entries.write",
                "agents.read",
                "agents.write",
                "join_tokens.create",
                "bundles.read",
                "bundles.write",
                "federation.read",
                "federation.write",
                "authorities.read",
                "authorities.write",
                "health.read",
                "whoami"
            ]
        );
        assert_eq!(
            names(Role::IdentityAdmin),
            [
                "users.read",
                "users.write",
                "users.secrets",
                "clients.read",
                "clients.write",
                "clients.secrets",
                "api_keys.read",
                "api_keys.write",
                "health.read",
                "whoami"
            ]
        );
        assert_eq!(
            names(Role::Auditor),
            [
                "entries.read",
                "agents.read",
                "bundles.read",
                "federation.read",
                "authorities.read",
                "users.read",
                "clients.read",
                "api_keys.read",
                "tenants.read",
                "health.read",
                "whoami"
            ]
        );
        assert!(!Role::Operator.allows(P::TenantsWrite));
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.name().parse::<Role>().unwrap(), *r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
