//! Registration: validating entries, assigning their IDs, and deciding which entries an
//! agent is authorized for.

mod audit;
mod authorized;
mod dns;
mod entry_id;
mod error;
mod validate;

pub use audit::audit_entry_change;
pub use authorized::authorized_entries;
pub use entry_id::{MAX_ENTRY_ID_LEN, check_entry_id, new_entry_id};
pub use error::RegistrationError;
pub use validate::{
    MAX_DNS_NAMES, MAX_FEDERATES_WITH, MAX_HINT_LEN, MAX_SELECTORS, Policy, server_id, validate,
};
