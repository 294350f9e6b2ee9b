//! OAuth clients: the domain model, validation, secrets (SHA-256 of 256-bit random values,
//! compared in constant time, rotated with a grace period) and client authentication.

mod authenticate;
mod model;
mod secret;
mod validate;

pub use authenticate::{ClientAuthError, authenticate_secret, get_client};
pub use model::{AuthMethod, Client, GRANT_TYPES};
pub use secret::{
    ClientSecret, DEFAULT_GRACE_PERIOD, hash_secret, new_secret_record, rotate_secret_record,
    verify_secret,
};
pub use validate::ClientError;

pub use crate::datastore::SecretRecord;
