//! Short-lived records: browser sessions (with their pending authorization requests),
//! authorization codes, device codes, assertion `jti`s and revoked access-token `jti`s.
//!
//! They are rows with an expiry in the shared datastore, so a restart keeps them and any
//! replica can continue what another one started. Each record has a revision for
//! compare-and-swap updates, an optional group (the records of one group can be listed
//! oldest first, e.g. the anonymous sessions of one source address) and is invisible once
//! expired; [`ExpiringStore::prune_expiring`] deletes what expired.

use std::future::Future;

use super::DatastoreError;

/// What a short-lived record is; part of its key (one namespace per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ExpiringKind {
    /// A browser session, keyed by the SHA-256 of its cookie value.
    BrowserSession = 1,
    /// An authorization code, keyed by the SHA-256 of the code.
    AuthorizationCode = 2,
    /// A device code, keyed by the SHA-256 of the device code.
    DeviceCode = 3,
    /// The index of a device code by its user code.
    DeviceUserCode = 4,
    /// A client assertion's `jti`, keyed by the SHA-256 of (client ID, `jti`).
    AssertionJti = 5,
    /// A revoked access token's `jti`.
    RevokedJti = 6,
}

impl ExpiringKind {
    /// The stored code of the kind.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A record to write.
#[derive(Debug, Clone, Copy)]
pub struct ExpiringWrite<'a> {
    /// The kind (namespace).
    pub kind: ExpiringKind,
    /// The key within the kind (at most 1 KiB).
    pub key: &'a [u8],
    /// The group (empty: none), at most 255 bytes.
    pub group: &'a [u8],
    /// The record, opaque to the store.
    pub value: &'a [u8],
    /// Unix seconds after which the record is gone.
    pub expires_at: i64,
}

/// A live record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringRecord {
    /// The record as written.
    pub value: Vec<u8>,
    /// Bumped on every update (1 when created).
    pub revision: u64,
    /// Unix seconds after which it is gone.
    pub expires_at: i64,
}

/// Longest key accepted.
pub const MAX_EXPIRING_KEY: usize = 1024;
/// Longest group accepted.
pub const MAX_EXPIRING_GROUP: usize = 255;

/// Refuses keys and groups beyond the limits (every backend checks the same).
pub(crate) fn check_write(write: &ExpiringWrite<'_>) -> Result<(), DatastoreError> {
    if write.key.is_empty() || write.key.len() > MAX_EXPIRING_KEY {
        return Err(DatastoreError::Storage("expiring record key length".into()));
    }
    if write.group.len() > MAX_EXPIRING_GROUP {
        return Err(DatastoreError::Storage(
            "expiring record group length".into(),
        ));
    }
    Ok(())
}

/// Short-lived records with an expiry, a revision and an optional group. Every write is
/// durable before it returns.
pub trait ExpiringStore: Send + Sync + 'static {
    /// Creates the record `write.key` at `now` (its creation time orders its group) unless a
    /// live one holds the key: `false` then, and nothing changes. An expired record under
    /// the key is replaced.
    fn create_expiring(
        &self,
        write: ExpiringWrite<'_>,
        now: i64,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// The record `key` of `kind` if it is live at `now`.
    fn get_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        now: i64,
    ) -> impl Future<Output = Result<Option<ExpiringRecord>, DatastoreError>> + Send;

    /// Replaces the value and expiry of the record `write.key` (its group stays) if its
    /// revision is still `expected_revision`; returns the new revision.
    /// [`DatastoreError::Conflict`] when another writer changed or deleted it first.
    fn update_expiring(
        &self,
        write: ExpiringWrite<'_>,
        expected_revision: u64,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Deletes the record `key` of `kind` (only at `expected_revision` when given);
    /// `false` when there was none (or it had another revision).
    fn delete_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        expected_revision: Option<u64>,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// The keys of the live records of `group` (non-empty), oldest first, at most `limit`.
    fn group_expiring(
        &self,
        kind: ExpiringKind,
        group: &[u8],
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, DatastoreError>> + Send;

    /// Deletes every record expired at `now`; returns how many.
    fn prune_expiring(&self, now: i64) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}
