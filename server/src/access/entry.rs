//! The admin role an entry's SVIDs hold: `admin_role`, or `admin` for the older boolean.

use tessera_proto::wire::tessera::types::v1::Entry;

use super::{Role, UnknownRole};

/// Why an entry's admin fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryRoleError {
    /// `admin_role` is not a role.
    #[error("admin_role: {0}")]
    Unknown(#[from] UnknownRole),
    /// `admin = true` with a role other than `admin`.
    #[error("admin = true contradicts admin_role {0:?} (admin = true means role admin)")]
    Contradiction(String),
}

/// The admin role of `entry`'s SVIDs: `admin_role` when set, else `admin` when the
/// boolean `admin` is (entries written before roles), else none.
pub fn entry_role(entry: &Entry) -> Result<Option<Role>, EntryRoleError> {
    if entry.admin_role.is_empty() {
        return Ok(entry.admin.then_some(Role::Admin));
    }
    let role: Role = entry.admin_role.parse()?;
    if entry.admin && role != Role::Admin {
        return Err(EntryRoleError::Contradiction(entry.admin_role.clone()));
    }
    Ok(Some(role))
}

/// Writes `role` into both fields: `admin_role` its name, `admin` true exactly for role
/// `admin` (so a server without roles never reads a lesser role as admin).
pub fn set_entry_role(entry: &mut Entry, role: Option<Role>) {
    entry.admin = role == Some(Role::Admin);
    entry.admin_role = role.map(|r| r.name().to_string()).unwrap_or_default();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn entry(admin: bool, role: &str) -> Entry {
        Entry {
            admin,
            admin_role: role.into(),
            ..Entry::default()
        }
    }

    #[test]
    fn the_boolean_means_admin_and_the_role_wins() {
        assert_eq!(entry_role(&entry(false, "")).unwrap(), None);
        assert_eq!(entry_role(&entry(true, "")).unwrap(), Some(Role::Admin));
        assert_eq!(
            entry_role(&entry(false, "auditor")).unwrap(),
            Some(Role::Auditor)
        );
        assert_eq!(
            entry_role(&entry(true, "admin")).unwrap(),
            Some(Role::Admin)
        );
        assert!(matches!(
            entry_role(&entry(true, "operator")),
            Err(EntryRoleError::Contradiction(_))
        ));
        assert!(matches!(
            entry_role(&entry(false, "root")),
            Err(EntryRoleError::Unknown(_))
        ));
        let mut e = entry(true, "");
        set_entry_role(&mut e, Some(Role::Operator));
        assert_eq!((e.admin, e.admin_role.as_str()), (false, "operator"));
        set_entry_role(&mut e, Some(Role::Admin));
        assert_eq!((e.admin, e.admin_role.as_str()), (true, "admin"));
        set_entry_role(&mut e, None);
        assert_eq!((e.admin, e.admin_role.as_str()), (false, ""));
    }
}
