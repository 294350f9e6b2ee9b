//! What the sled trees share: JSON records and the plumbing of multi-tree transactions.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::storage;
use crate::datastore::DatastoreError;

/// The error a transaction closure aborts with.
pub(super) type Abort = ConflictableTransactionError<DatastoreError>;

/// Aborts a transaction with `e`.
pub(super) fn abort(e: DatastoreError) -> Abort {
    ConflictableTransactionError::Abort(e)
}

/// A transaction's outcome as the store's error.
pub(super) fn finish<T>(
    result: Result<T, TransactionError<DatastoreError>>,
) -> Result<T, DatastoreError> {
    match result {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(storage(e)),
    }
}

/// A `what` record as stored (JSON).
pub(super) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, DatastoreError> {
    serde_json::to_vec(value)
        .map_err(|e| DatastoreError::Corrupt(format!("encoding a {what}: {e}")))
}

/// A stored `what` record.
pub(super) fn from_json<T: DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, DatastoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| DatastoreError::Corrupt(format!("{what} record: {e}")))
}
