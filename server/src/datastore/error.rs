//! Datastore errors.

/// What can go wrong in the datastore.
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    /// A concurrent writer changed the record first (optimistic concurrency); retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record (or one with the same unique key) already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The storage engine failed (I/O, flush, open).
    #[error("storage: {0}")]
    Storage(String),
    /// The database cannot be reached now (connection refused or lost, pool exhausted,
    /// server shutting down): transient, the request may succeed later. The API answers it
    /// as gRPC `Unavailable` / HTTP 503. Never carries the connection string.
    #[error("datastore unavailable: {0}")]
    Unavailable(String),
}
