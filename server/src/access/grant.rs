//! A caller's grant (role, optional tenant limit, who) and why a call is denied.

use std::fmt;

use super::{Permission, PermissionScope, Role};
use crate::datastore::TenantId;

/// What a caller may do: a role, optionally limited to one tenant, and a description of
/// the caller for audit events and `whoami` (`uid 1000`, `spiffe://…`, `api key …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// When set, only tenant-scoped permissions, and only in this tenant.
    pub tenant: Option<TenantId>,
    /// Who the caller is.
    pub principal: String,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The caller's role does not hold the permission.
    #[error("role {:?} lacks permission {:?} (caller: {principal})", .role.name(), .permission.name())]
    MissingPermission {
        /// Who.
        principal: String,
        /// Their role.
        role: Role,
        /// What the call needs.
        permission: Permission,
    },
    /// A tenant-limited caller named another tenant.
    #[error("{principal} is limited to tenant {:?}; the call names tenant {:?}", .limit.as_str(), .requested.as_str())]
    OtherTenant {
        /// Who.
        principal: String,
        /// The tenant the binding is limited to.
        limit: TenantId,
        /// The tenant the call names.
        requested: TenantId,
    },
    /// A tenant-limited caller asked for a trust-domain-wide permission.
    #[error("{principal} is limited to tenant {:?}; permission {:?} is not tenant-scoped", .limit.as_str(), .permission.name())]
    NotTenantScoped {
        /// Who.
        principal: String,
        /// The tenant the binding is limited to.
        limit: TenantId,
        /// What the call needs.
        permission: Permission,
    },
    /// The RPC declares no permission: denied (fail closed).
    #[error("{path} declares no permission; denied")]
    UndeclaredRpc {
        /// The gRPC path.
        path: String,
    },
    /// The caller is known but holds no admin role.
    #[error("{principal} may not use the admin API ({hint})")]
    NoRole {
        /// Who.
        principal: String,
        /// Who may.
        hint: &'static str,
    },
    /// Only role `admin` may create or change an entry with an admin role.
    #[error("role {:?} may not grant admin role {:?}: only role \"admin\" may create or change admin-role entries", .caller.name(), .granted.name())]
    Escalation {
        /// The caller's role.
        caller: Role,
        /// The role the entry would grant.
        granted: Role,
    },
    /// Who the caller is could not be established (no peer credentials, no SVID, a bad
    /// bearer credential).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's credentials could not be checked now (the datastore is unavailable).
    #[error("the datastore is unavailable; retry")]
    Unavailable,
}

impl Denial {
    /// Who was denied, when known (for audit events).
    pub fn principal(&self) -> Option<&str> {
        match self {
            Self::MissingPermission { principal, .. }
            | Self::OtherTenant { principal, .. }
            | Self::NotTenantScoped { principal, .. }
            | Self::NoRole { principal, .. } => Some(principal),
            _ => None,
        }
    }

    /// The permission the denial names, if any (for audit events).
    pub fn permission(&self) -> Option<Permission> {
        match self {
            Self::MissingPermission { permission, .. }
            | Self::NotTenantScoped { permission, .. } => Some(*permission),
            _ => None,
        }
    }
}

impl Grant {
    /// A grant of `role` to `principal`, not limited to a tenant.
    pub fn new(role: Role, principal: impl Into<String>) -> Self {
        Self {
            role,
            tenant: None,
            principal: principal.into(),
        }
    }

    /// Whether this grant allows `permission` in `tenant` (the tenant the call names).
    pub fn check(&self, permission: Permission, tenant: &TenantId) -> Result<(), Denial> {
        if !self.role.allows(permission) {
            return Err(Denial::MissingPermission {
                principal: self.principal.clone(),
                role: self.role,
                permission,
            });
        }
        let Some(limit) = &self.tenant else {
            return Ok(());
        };
        match permission.scope() {
            PermissionScope::Caller => Ok(()),
            PermissionScope::Global => Err(Denial::NotTenantScoped {
                principal: self.principal.clone(),
                limit: limit.clone(),
                permission,
            }),
            PermissionScope::Tenant if limit == tenant => Ok(()),
            PermissionScope::Tenant => Err(Denial::OtherTenant {
                principal: self.principal.clone(),
                limit: limit.clone(),
                requested: tenant.clone(),
            }),
        }
    }

    /// Whether this caller may create or change an entry granting `granted`: only role
    /// `admin` may (an operator could otherwise mint itself an admin SVID).
    pub fn may_grant(&self, granted: Role) -> Result<(), Denial> {
        if self.role == Role::Admin && self.tenant.is_none() {
            return Ok(());
        }
        Err(Denial::Escalation {
            caller: self.role,
            granted,
        })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as {}", self.principal, self.role)?;
        if let Some(t) = &self.tenant {
            write!(f, " in tenant {}", t.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn tenant(t: &str) -> TenantId {
        TenantId::parse(t).unwrap()
    }

    #[test]
    fn role_permissions_decide() {
        let auditor = Grant::new(Role::Auditor, "uid 7");
        let default = TenantId::default_tenant();
        auditor.check(Permission::EntriesRead, &default).unwrap();
        let denial = auditor
            .check(Permission::EntriesWrite, &default)
            .unwrap_err();
        assert_eq!(
            denial.to_string(),
            "role \"auditor\" lacks permission \"entries.write\" (caller: uid 7)"
        );
        assert_eq!(denial.permission(), Some(Permission::EntriesWrite));
    }

    #[test]
    fn a_tenant_limit_allows_only_tenant_scoped_permissions_in_that_tenant() {
        let grant = Grant {
            tenant: Some(tenant("acme")),
            ..Grant::new(Role::IdentityAdmin, "uid 7")
        };
        grant
            .check(Permission::UsersWrite, &tenant("acme"))
            .unwrap();
        grant.check(Permission::WhoAmI, &tenant("other")).unwrap();
        assert_eq!(
            grant
                .check(Permission::UsersWrite, &tenant("other"))
                .unwrap_err()
                .to_string(),
            "uid 7 is limited to tenant \"acme\"; the call names tenant \"other\""
        );
        let admin = Grant {
            tenant: Some(tenant("acme")),
            ..Grant::new(Role::Admin, "uid 7")
        };
        assert_eq!(
            admin
                .check(Permission::EntriesRead, &tenant("acme"))
                .unwrap_err()
                .to_string(),
            "uid 7 is limited to tenant \"acme\"; permission \"entries.read\" is not tenant-scoped"
        );
        assert!(admin.may_grant(Role::Auditor).is_err());
    }

    #[test]
    fn only_admin_may_grant_admin_roles() {
        Grant::new(Role::Admin, "root")
            .may_grant(Role::Admin)
            .unwrap();
        assert_eq!(
            Grant::new(Role::Operator, "uid 7")
                .may_grant(Role::Auditor)
                .unwrap_err()
                .to_string(),
            "role \"operator\" may not grant admin role \"auditor\": only role \"admin\" may \
             create or change admin-role entries"
        );
    }
}
