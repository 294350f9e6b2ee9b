//! Who a caller on the admin Unix socket is: its peer credentials (`SO_PEERCRED`) matched
//! against `[[admin_bindings]]` (uid, else primary gid), with the server's own uid and root
//! bound to `admin` unless a binding says otherwise. Supplementary groups are not seen.

use crate::access::{Denial, Grant, Role};
use crate::datastore::TenantId;

/// Whom a binding matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A uid.
    Uid(u32),
    /// A primary gid.
    Gid(u32),
}

/// One `[[admin_bindings]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Whom it matches.
    pub subject: Subject,
    /// The role it grants.
    pub role: Role,
    /// The tenant it is limited to, if any.
    pub tenant: Option<TenantId>,
}

/// The socket's bindings.
#[derive(Debug, Clone)]
pub struct SocketBindings {
    own_uid: u32,
    bindings: Vec<Binding>,
}

const HINT: &str = "allowed: the server's uid, root and admin_bindings";

impl SocketBindings {
    /// `bindings` (first match wins, uid bindings before gid bindings), plus the server's
    /// uid and root as `admin`.
    pub fn new(bindings: Vec<Binding>) -> Self {
        Self {
            own_uid: rustix::process::geteuid().as_raw(),
            bindings,
        }
    }

    /// Whether anyone besides the server's uid and root is bound (the socket is then 0666).
    pub fn opens_the_socket(&self) -> bool {
        self.bindings
            .iter()
            .any(|b| !matches!(b.subject, Subject::Uid(u) if u == 0 || u == self.own_uid))
    }

    /// The grant of the peer `uid`/`gid`.
    pub fn grant(&self, uid: u32, gid: u32) -> Result<Grant, Denial> {
        let found = |subject: Subject| self.bindings.iter().find(|b| b.subject == subject);
        let principal = format!("uid {uid}");
        if let Some(b) = found(Subject::Uid(uid)) {
            return Ok(Grant {
                role: b.role,
                tenant: b.tenant.clone(),
                principal,
            });
        }
        if uid == 0 || uid == self.own_uid {
            return Ok(Grant::new(Role::Admin, principal));
        }
        if let Some(b) = found(Subject::Gid(gid)) {
            return Ok(Grant {
                role: b.role,
                tenant: b.tenant.clone(),
                principal: format!("uid {uid} (gid {gid})"),
            });
        }
        Err(Denial::NoRole {
            principal,
            hint: HINT,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn binding(subject: Subject, role: Role) -> Binding {
        Binding {
            subject,
            role,
            tenant: None,
        }
    }

    #[test]
    fn uid_then_own_uid_and_root_then_gid() {
        let own = rustix::process::geteuid().as_raw();
        let none = SocketBindings::new(Vec::new());
        assert!(!none.opens_the_socket());
        assert_eq!(none.grant(0, 0).unwrap().role, Role::Admin);
        assert_eq!(none.grant(own, 1).unwrap().role, Role::Admin);
        assert_eq!(
            none.grant(65534, 65534).unwrap_err().to_string(),
            "uid 65534 may not use the admin API (allowed: the server's uid, root and \
             admin_bindings)"
        );
        let some = SocketBindings::new(vec![
            binding(Subject::Uid(1000), Role::Auditor),
            binding(Subject::Gid(100), Role::Operator),
            binding(Subject::Gid(0), Role::Auditor),
        ]);
        assert!(some.opens_the_socket());
        assert_eq!(some.grant(1000, 100).unwrap().role, Role::Auditor);
        let by_group = some.grant(1001, 100).unwrap();
        assert_eq!(by_group.role, Role::Operator);
        assert_eq!(by_group.principal, "uid 1001 (gid 100)");
        // Root stays admin although its group is bound.
        assert_eq!(some.grant(0, 0).unwrap().role, Role::Admin);
        assert!(some.grant(1002, 101).is_err());
    }
}
