//! sqlx errors as [`DatastoreError`]s, and the conversions every table needs.

use sqlx::error::ErrorKind;

use crate::datastore::DatastoreError;

/// SQLSTATE classes and codes that mean "try again later": connection exceptions (08),
/// operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
/// now), insufficient resources (53).
fn transient(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Maps a sqlx error: a unique violation is [`DatastoreError::AlreadyExists`] (with
/// `what`), a serialization failure or deadlock [`DatastoreError::Conflict`], a lost or
/// refused connection [`DatastoreError::Unavailable`], a row that does not decode
/// [`DatastoreError::Corrupt`], anything else [`DatastoreError::Storage`].
pub(super) fn db_error(what: &str, e: sqlx::Error) -> DatastoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if matches!(db.kind(), ErrorKind::UniqueViolation) {
                DatastoreError::AlreadyExists(what.to_owned())
            } else if code == "40001" || code == "40P01" {
                DatastoreError::Conflict(format!("{what}: {}", db.message()))
            } else if transient(&code) {
                DatastoreError::Unavailable(format!("{what}: {}", db.message()))
            } else {
                DatastoreError::Storage(format!("{what}: {}", db.message()))
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => DatastoreError::Unavailable(format!("{what}: {e}")),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => DatastoreError::Corrupt(format!("{what}: {e}")),
        _ => DatastoreError::Storage(format!("{what}: {e}")),
    }
}

/// The name of the unique constraint a unique violation broke, if that is what `e` is.
pub(super) fn violated_constraint(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) if matches!(db.kind(), ErrorKind::UniqueViolation) => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}

/// A `u64` counter as a BIGINT.
pub(super) fn to_i64(what: &str, value: u64) -> Result<i64, DatastoreError> {
    i64::try_from(value).map_err(|_| DatastoreError::Corrupt(format!("{what} {value} exceeds i64")))
}

/// A stored BIGINT counter as a `u64`.
pub(super) fn to_u64(what: &str, value: i64) -> Result<u64, DatastoreError> {
    u64::try_from(value).map_err(|_| DatastoreError::Corrupt(format!("{what} {value} is negative")))
}

/// PostgreSQL text cannot hold NUL: a key with one names nothing that can be stored.
pub(super) fn has_nul(keys: &[&str]) -> bool {
    keys.iter().any(|k| k.contains('\0'))
}

/// The error for writing a key with a NUL byte.
pub(super) fn nul_key(what: &str) -> DatastoreError {
    DatastoreError::Storage(format!(
        "{what}: a key contains a NUL byte, which PostgreSQL text cannot hold"
    ))
}

/// A `what` record as stored (JSON).
pub(super) fn to_json<T: serde::Serialize>(
    what: &str,
    value: &T,
) -> Result<Vec<u8>, DatastoreError> {
    serde_json::to_vec(value)
        .map_err(|e| DatastoreError::Corrupt(format!("encoding a {what}: {e}")))
}

/// A stored `what` record.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, DatastoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| DatastoreError::Corrupt(format!("{what} record: {e}")))
}

/// A stored prost record.
pub(super) fn from_proto<T: prost::Message + Default>(
    what: &str,
    bytes: &[u8],
) -> Result<T, DatastoreError> {
    T::decode(bytes).map_err(|e| DatastoreError::Corrupt(format!("{what}: {e}")))
}

/// Keyset paging: `rows` were fetched with `LIMIT page_size + 1`; the page keeps
/// `page_size` of them and names the last key when more follow.
pub(super) fn page_of<T>(
    mut rows: Vec<(String, T)>,
    page_size: usize,
) -> crate::datastore::Page<T> {
    let more = rows.len() > page_size;
    rows.truncate(page_size);
    let next_page_token = match (more, rows.last()) {
        (true, Some((key, _))) => key.clone(),
        _ => String::new(),
    };
    crate::datastore::Page {
        items: rows.into_iter().map(|(_, v)| v).collect(),
        next_page_token,
    }
}

/// `page_size` (at least 1) plus one, as a LIMIT.
pub(super) fn limit(page_size: usize) -> i64 {
    i64::try_from(page_size.max(1))
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}
