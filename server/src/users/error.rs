//! Errors of account management and of sign-in.

use crate::datastore::DatastoreError;

/// Why an account operation failed. Messages never carry a password or TOTP secret.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A field is invalid; the message starts with the field name.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field (`username`, `email`, `password`, …).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such account.
    #[error("no user {0:?}")]
    NotFound(String),
    /// The username (or ID) is taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// The datastore failed.
    #[error("datastore: {0}")]
    Datastore(DatastoreError),
    /// Hashing, sealing or the random generator failed (detail for the log only).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<DatastoreError> for UserError {
    fn from(e: DatastoreError) -> Self {
        match e {
            DatastoreError::AlreadyExists(m) => Self::AlreadyExists(m),
            other => Self::Datastore(other),
        }
    }
}

/// Why a sign-in attempt was refused. The answer for an unknown username, a wrong
/// password and a disabled account is the same [`LoginError::InvalidCredentials`].
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong username, password or TOTP code, or a disabled account.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures: retry after the given time.
    #[error("too many attempts; retry after {} s", .0.seconds)]
    Throttled(super::RetryAfter),
    /// Something failed inside (logged; the caller answers a generic error).
    #[error("internal: {0}")]
    Internal(String),
}
