//! `[[admin_bindings]]`: admin roles for callers on the admin Unix socket, by uid or
//! primary gid, optionally limited to a tenant; and `admin_uids`, their deprecated alias.

use serde::Deserialize;

use crate::access::Role;
use crate::api::admin::access::{Binding, SocketBindings, Subject};
use crate::datastore::TenantId;

/// One `[[admin_bindings]]` entry: exactly one of `uid` and `gid`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminBindingSection {
    /// The caller's uid.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The caller's primary gid (supplementary groups are not seen).
    #[serde(default)]
    pub gid: Option<u32>,
    /// admin | operator | identity-admin | auditor.
    pub role: Role,
    /// Limits the binding to this tenant's users, OAuth clients and API keys.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// Checks `bindings`; returns the offending key and why.
pub(super) fn validate(bindings: &[AdminBindingSection]) -> Result<(), (String, String)> {
    for (i, b) in bindings.iter().enumerate() {
        let key = |k: &str| format!("admin_bindings[{i}].{k}");
        if b.uid.is_some() == b.gid.is_some() {
            return Err((key("uid"), "set exactly one of uid and gid".into()));
        }
        if let Some(t) = &b.tenant {
            TenantId::parse(t).map_err(|e| (key("tenant"), e.to_string()))?;
        }
    }
    Ok(())
}

/// The socket bindings: `bindings` in order, then each of `admin_uids` as role `admin`.
pub fn socket_bindings(bindings: &[AdminBindingSection], admin_uids: &[u32]) -> SocketBindings {
    let mut all: Vec<Binding> = bindings
        .iter()
        .filter_map(|b| {
            let subject = match (b.uid, b.gid) {
                (Some(uid), _) => Subject::Uid(uid),
                (None, Some(gid)) => Subject::Gid(gid),
                (None, None) => return None,
            };
            Some(Binding {
                subject,
                role: b.role,
                // Checked by `validate`.
                tenant: b.tenant.as_deref().and_then(|t| TenantId::parse(t).ok()),
            })
        })
        .collect();
    all.extend(admin_uids.iter().map(|&uid| Binding {
        subject: Subject::Uid(uid),
        role: Role::Admin,
        tenant: None,
    }));
    SocketBindings::new(all)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, ServerConfig};

    fn parse(extra: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(
            &format!("trust_domain = \"example.org\"\nadmin_uids = [7]\n{extra}"),
            Path::new("server.toml"),
        )
    }

    #[test]
    fn bindings_parse_and_admin_uids_stay_admins() {
        let c = parse(
            "[[admin_bindings]]\nuid = 1000\nrole = \"auditor\"\n\
             [[admin_bindings]]\ngid = 100\nrole = \"identity-admin\"\ntenant = \"acme\"\n",
        )
        .unwrap();
        let b = c.socket_bindings();
        assert!(b.opens_the_socket());
        assert_eq!(b.grant(1000, 1).unwrap().role.name(), "auditor");
        let g = b.grant(1001, 100).unwrap();
        assert_eq!(g.role.name(), "identity-admin");
        assert_eq!(g.tenant.unwrap().as_str(), "acme");
        assert_eq!(b.grant(7, 7).unwrap().role.name(), "admin");
    }

    #[test]
    fn bad_bindings_name_their_key() {
        let key = |extra: &str| match parse(extra).unwrap_err() {
            ConfigError::Invalid { key, message, .. } => format!("{key}: {message}"),
            other => panic!("{other}"),
        };
        assert_eq!(
            key("[[admin_bindings]]\nuid = 1\ngid = 1\nrole = \"admin\"\n"),
            "admin_bindings[0].uid: set exactly one of uid and gid"
        );
        assert!(
            key("[[admin_bindings]]\nuid = 1\nrole = \"root\"\n").contains("unknown admin role")
        );
        assert!(
            key("[[admin_bindings]]\nuid = 1\nrole = \"admin\"\ntenant = \"A\"\n")
                .starts_with("admin_bindings[0].tenant")
        );
    }
}
