//! Least privilege for the admin API: the [`Permission`]s an admin RPC needs, the [`Role`]s
//! that hold them, and a caller's [`Grant`] (role, optional tenant limit, who it is) whose
//! checks end in a typed [`Denial`]. Transport-free: the admin API maps RPC paths to
//! permissions and callers to grants (`api::admin::access`).

mod entry;
mod grant;
mod permission;
mod role;

pub use entry::{EntryRoleError, entry_role, set_entry_role};
pub use grant::{Denial, Grant};
pub use permission::{Permission, PermissionScope, UnknownPermission};
pub use role::{Role, UnknownRole};
