//! What a key may be given: a subset of what its owner may get, never more.
//!
//! Admin scopes (`admin:<role>`) are only stored and validated here; binding them to
//! admin roles is the admin API's business.

/// The admin scopes a key may carry, one per admin role.
pub const ADMIN_ROLES: [&str; 4] = [
    "admin:admin",
    "admin:operator",
    "admin:identity-admin",
    "admin:auditor",
];

/// The prefix of every admin scope.
pub const ADMIN_SCOPE_PREFIX: &str = "admin:";

/// Why a key's scopes are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// No scope at all: a key must be allowed something.
    #[error("an API key needs at least one scope")]
    Empty,
    /// Not an RFC 6749 §3.3 scope token.
    #[error("{0:?} is not a scope token")]
    Malformed(String),
    /// `admin:` followed by no known role.
    #[error("unknown admin scope {0:?} (one of {roles})", roles = ADMIN_ROLES.join(", "))]
    UnknownAdminRole(String),
    /// Two admin scopes: a key acts in one admin role.
    #[error("an API key carries at most one admin scope (it acts in one admin role): {0}")]
    SeveralAdminRoles(String),
    /// More than the owner may get.
    #[error("scope {0:?} is not one the key's owner may get")]
    AboveOwner(String),
}

/// Whether `scope` is an admin scope (`admin:…`).
pub fn is_admin_scope(scope: &str) -> bool {
    scope.starts_with(ADMIN_SCOPE_PREFIX)
}

/// Checks that `requested` is a non-empty set of scope tokens within `allowed` (what the
/// owner may get: a user's from `[api_keys] user_scopes`, a client's its allowed scopes),
/// and that every admin scope names a known role. Returns them sorted, without duplicates.
pub fn check_scopes(requested: &[String], allowed: &[String]) -> Result<Vec<String>, ScopeError> {
    let mut scopes: Vec<String> = requested.to_vec();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ScopeError::Empty);
    }
    for scope in &scopes {
        let token = |c: char| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c);
        if scope.is_empty() || !scope.chars().all(token) {
            return Err(ScopeError::Malformed(scope.clone()));
        }
        if is_admin_scope(scope) && !ADMIN_ROLES.contains(&scope.as_str()) {
            return Err(ScopeError::UnknownAdminRole(scope.clone()));
        }
        if !allowed.iter().any(|a| a == scope) {
            return Err(ScopeError::AboveOwner(scope.clone()));
        }
    }
    let admin: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| is_admin_scope(s))
        .collect();
    if admin.len() > 1 {
        return Err(ScopeError::SeveralAdminRoles(admin.join(" ")));
    }
    Ok(scopes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_subset_is_accepted_sorted_and_deduplicated() {
        let allowed = v(&["read", "write", "admin:auditor"]);
        assert_eq!(
            check_scopes(&v(&["write", "read", "write"]), &allowed).unwrap(),
            v(&["read", "write"])
        );
        assert_eq!(
            check_scopes(&v(&["admin:auditor"]), &allowed).unwrap(),
            v(&["admin:auditor"])
        );
    }

    #[test]
    fn more_than_the_owner_may_get_is_refused() {
        let allowed = v(&["read"]);
        assert_eq!(
            check_scopes(&v(&["read", "write"]), &allowed),
            Err(ScopeError::AboveOwner("write".into()))
        );
        // Admin scopes only when the owner may get them.
        assert_eq!(
            check_scopes(&v(&["admin:admin"]), &allowed),
            Err(ScopeError::AboveOwner("admin:admin".into()))
        );
        assert_eq!(check_scopes(&[], &allowed), Err(ScopeError::Empty));
        assert_eq!(
            check_scopes(&v(&["admin:root"]), &v(&["admin:root"])),
            Err(ScopeError::UnknownAdminRole("admin:root".into()))
        );
        assert_eq!(
            check_scopes(
                &v(&["admin:auditor", "admin:operator"]),
                &v(&["admin:auditor", "admin:operator"])
            ),
            Err(ScopeError::SeveralAdminRoles(
                "admin:auditor admin:operator".into()
            ))
        );
        assert_eq!(
            check_scopes(&v(&["a b"]), &v(&["a b"])),
            Err(ScopeError::Malformed("a b".into()))
        );
    }
}
