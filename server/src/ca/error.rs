//! CA errors.

use crate::datastore::DatastoreError;

/// What can go wrong in the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A request to sign was malformed (SPIFFE ID outside the trust domain, bad key, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An operator action does not fit the authority's state (e.g. tainting the active one).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The named authority does not exist.
    #[error("no {kind} authority with ID {id}")]
    NotFound {
        /// "X.509" or "JWT".
        kind: &'static str,
        /// The authority ID asked for.
        id: String,
    },
    /// Nothing can sign right now (no active authority).
    #[error("no active {0} authority")]
    NotReady(&'static str),
    /// The seal key is missing, unreadable or wrong.
    #[error("seal key: {0}")]
    SealKey(String),
    /// The upstream authority's files are missing or invalid.
    #[error("upstream authority: {0}")]
    Upstream(String),
    /// The stored journal is corrupt.
    #[error("CA journal: {0}")]
    Journal(String),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
}
