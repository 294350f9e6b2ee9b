//! The one place that says which permission each admin RPC needs. An RPC missing here is
//! denied (fail closed), and a test walks every served admin RPC to find it first.

use crate::access::Permission;

/// The path prefix of every admin RPC.
pub const ADMIN_PREFIX: &str = "/tessera.admin.v1.";

/// Every admin RPC path and the permission it needs.
pub const RPCS: &[(&str, Permission)] = {
    use Permission as P;
    &[
        ("/tessera.admin.v1.Health/Check", P::HealthRead),
        ("/tessera.admin.v1.Access/WhoAmI", P::WhoAmI),
        ("/tessera.admin.v1.Bundles/GetBundle", P::BundlesRead),
        (
            "/tessera.admin.v1.FederatedBundles/ListFederatedBundles",
            P::BundlesRead,
        ),
        (
            "/tessera.admin.v1.FederatedBundles/SetFederatedBundle",
            P::BundlesWrite,
        ),
        (
            "/tessera.admin.v1.FederatedBundles/DeleteFederatedBundle",
            P::BundlesWrite,
        ),
        (
            "/tessera.admin.v1.Authorities/ListAuthorities",
            P::AuthoritiesRead,
        ),
        (
            "/tessera.admin.v1.Authorities/PrepareAuthority",
            P::AuthoritiesWrite,
        ),
        (
            "/tessera.admin.v1.Authorities/ActivateAuthority",
            P::AuthoritiesWrite,
        ),
        (
            "/tessera.admin.v1.Authorities/TaintAuthority",
            P::AuthoritiesWrite,
        ),
        (
            "/tessera.admin.v1.Authorities/RevokeAuthority",
            P::AuthoritiesWrite,
        ),
        ("/tessera.admin.v1.Entries/CreateEntries", P::EntriesWrite),
        ("/tessera.admin.v1.Entries/UpdateEntry", P::EntriesWrite),
        ("/tessera.admin.v1.Entries/DeleteEntries", P::EntriesWrite),
        ("/tessera.admin.v1.Entries/GetEntry", P::EntriesRead),
        ("/tessera.admin.v1.Entries/ListEntries", P::EntriesRead),
        ("/tessera.admin.v1.Agents/ListAgents", P::AgentsRead),
        ("/tessera.admin.v1.Agents/GetAgent", P::AgentsRead),
        ("/tessera.admin.v1.Agents/BanAgent", P::AgentsWrite),
        ("/tessera.admin.v1.Agents/EvictAgent", P::AgentsWrite),
        (
            "/tessera.admin.v1.JoinTokens/CreateJoinToken",
            P::JoinTokensCreate,
        ),
        ("/tessera.admin.v1.Clients/CreateClient", P::ClientsWrite),
        ("/tessera.admin.v1.Clients/GetClient", P::ClientsRead),
        ("/tessera.admin.v1.Clients/ListClients", P::ClientsRead),
        ("/tessera.admin.v1.Clients/UpdateClient", P::ClientsWrite),
        ("/tessera.admin.v1.Clients/DeleteClient", P::ClientsWrite),
        (
            "/tessera.admin.v1.Clients/RotateClientSecret",
            P::ClientsSecrets,
        ),
        ("/tessera.admin.v1.Users/CreateUser", P::UsersWrite),
        ("/tessera.admin.v1.Users/GetUser", P::UsersRead),
        ("/tessera.admin.v1.Users/ListUsers", P::UsersRead),
        ("/tessera.admin.v1.Users/UpdateUser", P::UsersWrite),
        ("/tessera.admin.v1.Users/DeleteUser", P::UsersWrite),
        ("/tessera.admin.v1.Users/SetPassword", P::UsersWrite),
        ("/tessera.admin.v1.Users/EnableTotp", P::UsersSecrets),
        ("/tessera.admin.v1.Users/DisableUser", P::UsersWrite),
        (
            "/tessera.admin.v1.Federation/CreateFederationRelationship",
            P::FederationWrite,
        ),
        (
            "/tessera.admin.v1.Federation/ListFederationRelationships",
            P::FederationRead,
        ),
        (
            "/tessera.admin.v1.Federation/GetFederationRelationship",
            P::FederationRead,
        ),
        (
            "/tessera.admin.v1.Federation/UpdateFederationRelationship",
            P::FederationWrite,
        ),
        (
            "/tessera.admin.v1.Federation/DeleteFederationRelationship",
            P::FederationWrite,
        ),
        ("/tessera.admin.v1.Tenants/CreateTenant", P::TenantsWrite),
        ("/tessera.admin.v1.Tenants/GetTenant", P::TenantsRead),
        ("/tessera.admin.v1.Tenants/ListTenants", P::TenantsRead),
        ("/tessera.admin.v1.Tenants/UpdateTenant", P::TenantsWrite),
        ("/tessera.admin.v1.Tenants/DeleteTenant", P::TenantsWrite),
        ("/tessera.admin.v1.ApiKeys/CreateApiKey", P::ApiKeysWrite),
        ("/tessera.admin.v1.ApiKeys/GetApiKey", P::ApiKeysRead),
        ("/tessera.admin.v1.ApiKeys/ListApiKeys", P::ApiKeysRead),
        ("/tessera.admin.v1.ApiKeys/RevokeApiKey", P::ApiKeysWrite),
    ]
};

/// The permission the admin RPC at `path` needs; `None` for an undeclared RPC.
pub fn required(path: &str) -> Option<Permission> {
    RPCS.iter().find(|(p, _)| *p == path).map(|(_, perm)| *perm)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::access::Role;

    fn served() -> BTreeSet<String> {
        tessera_proto::wire::rpc_paths("tessera.admin.v1")
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn every_served_admin_rpc_declares_a_permission() {
        let served = served();
        assert!(served.len() > 40, "{served:?}");
        let missing: Vec<&String> = served.iter().filter(|p| required(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "admin RPCs without a permission: {missing:?}"
        );
        let stale: Vec<&str> = RPCS
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| !served.contains(*p))
            .collect();
        assert!(stale.is_empty(), "rows for RPCs nobody serves: {stale:?}");
        let unique: BTreeSet<&str> = RPCS.iter().map(|(p, _)| *p).collect();
        assert_eq!(unique.len(), RPCS.len(), "a path listed twice");
        assert!(RPCS.iter().all(|(p, _)| p.starts_with(ADMIN_PREFIX)));
    }

    /// What each role may call, written out from the README's roles table (not derived
    /// from `Role::allows`), so a change to either shows here.
    fn documented(role: Role, permission: Permission) -> bool {
        let name = permission.name();
        let family = name.split('.').next().unwrap_or_default();
        match role {
            Role::Admin => true,
            Role::Operator => {
                name == "whoami"
                    || matches!(
                        family,
                        "entries"
                            | "agents"
                            | "join_tokens"
                            | "bundles"
                            | "federation"
                            | "authorities"
                            | "health"
                    )
            }
            Role::IdentityAdmin => {
                name == "whoami"
                    || name == "health.read"
                    || matches!(family, "users" | "clients" | "api_keys")
            }
            Role::Auditor => name == "whoami" || name.ends_with(".read"),
        }
    }

    #[test]
    fn each_role_against_every_admin_rpc() {
        let mut checked = 0;
        for role in Role::ALL {
            for path in served()
                .iter()
                .map(String::as_str)
                .chain(RPCS.iter().map(|r| r.0))
            {
                let permission = required(path).unwrap();
                assert_eq!(
                    role.allows(permission),
                    documented(*role, permission),
                    "{role} on {path} ({permission})"
                );
                checked += 1;
            }
        }
        assert!(checked > 4 * 40);
        // Spot checks of the rules that matter most.
        let allows = |r: Role, p: &str| r.allows(required(p).unwrap());
        assert!(!allows(
            Role::Auditor,
            "/tessera.admin.v1.JoinTokens/CreateJoinToken"
        ));
        assert!(!allows(Role::Auditor, "/tessera.admin.v1.Users/EnableTotp"));
        assert!(!allows(
            Role::Auditor,
            "/tessera.admin.v1.Clients/RotateClientSecret"
        ));
        assert!(!allows(
            Role::Operator,
            "/tessera.admin.v1.Users/CreateUser"
        ));
        assert!(!allows(
            Role::IdentityAdmin,
            "/tessera.admin.v1.Entries/CreateEntries"
        ));
        assert!(!allows(
            Role::Operator,
            "/tessera.admin.v1.Tenants/CreateTenant"
        ));
        assert!(allows(Role::Auditor, "/tessera.admin.v1.Access/WhoAmI"));
        assert_eq!(required("/tessera.admin.v1.Entries/Nope"), None);
    }
}
