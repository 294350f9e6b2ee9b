//! The short-lived state of the OAuth flows — browser sessions with their pending
//! authorization requests, authorization codes, device codes, assertion `jti`s and the
//! revoked-token denylist — as typed records in the datastore ([`ExpiringStore`]): a
//! restart keeps them, and any replica continues what another one started (no sticky
//! sessions).
//!
//! Records are JSON; keys of bearer secrets (session cookies, codes) are their SHA-256, so
//! the database never holds a usable secret.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::BoxFuture;

#[cfg(test)]
pub mod test_support;
use crate::datastore::{
    DatastoreError, ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite,
};

/// [`ExpiringStore`] as a trait object, so the OAuth server does not name the datastore.
pub trait StateStore: Send + Sync + 'static {
    /// [`ExpiringStore::create_expiring`].
    fn create<'a>(
        &'a self,
        write: ExpiringWrite<'a>,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>>;
    /// [`ExpiringStore::get_expiring`].
    fn get<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a [u8],
        now: i64,
    ) -> BoxFuture<'a, Result<Option<ExpiringRecord>, DatastoreError>>;
    /// [`ExpiringStore::update_expiring`].
    fn update<'a>(
        &'a self,
        write: ExpiringWrite<'a>,
        expected_revision: u64,
    ) -> BoxFuture<'a, Result<u64, DatastoreError>>;
    /// [`ExpiringStore::delete_expiring`].
    fn delete<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a [u8],
        expected_revision: Option<u64>,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>>;
    /// [`ExpiringStore::group_expiring`].
    fn group<'a>(
        &'a self,
        kind: ExpiringKind,
        group: &'a [u8],
        now: i64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Vec<u8>>, DatastoreError>>;
}

impl<T: ExpiringStore> StateStore for T {
    fn create<'a>(
        &'a self,
        write: ExpiringWrite<'a>,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>> {
        Box::pin(self.create_expiring(write, now))
    }

    fn get<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a [u8],
        now: i64,
    ) -> BoxFuture<'a, Result<Option<ExpiringRecord>, DatastoreError>> {
        Box::pin(self.get_expiring(kind, key, now))
    }

    fn update<'a>(
        &'a self,
        write: ExpiringWrite<'a>,
        expected_revision: u64,
    ) -> BoxFuture<'a, Result<u64, DatastoreError>> {
        Box::pin(self.update_expiring(write, expected_revision))
    }

    fn delete<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a [u8],
        expected_revision: Option<u64>,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>> {
        Box::pin(self.delete_expiring(kind, key, expected_revision))
    }

    fn group<'a>(
        &'a self,
        kind: ExpiringKind,
        group: &'a [u8],
        now: i64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Vec<u8>>, DatastoreError>> {
        Box::pin(self.group_expiring(kind, group, now, limit))
    }
}

/// Why the state could not be read or written. Answered as 503 (`temporarily_unavailable`
/// at the token endpoint); never carries a key or a value.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The datastore failed or cannot be reached.
    #[error("state store: {0}")]
    Store(#[from] DatastoreError),
    /// A stored record does not decode as what its kind holds.
    #[error("state store: a {0:?} record does not decode")]
    Corrupt(ExpiringKind),
    /// A record could not be encoded.
    #[error("state store: a {0:?} record does not encode")]
    Encode(ExpiringKind),
    /// Concurrent writers kept changing one record.
    #[error("state store: a {0:?} record kept changing under concurrent writers")]
    Contended(ExpiringKind),
}

/// A record read with the revision to update it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The record.
    pub value: T,
    /// Its revision.
    pub revision: u64,
    /// Unix seconds after which it is gone.
    pub expires_at: i64,
}

/// The records of one kind, as `T`.
pub struct Records<T> {
    store: Arc<dyn StateStore>,
    kind: ExpiringKind,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Records<T> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            kind: self.kind,
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Records<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    /// The records of `kind` in `store`.
    pub fn new(store: Arc<dyn StateStore>, kind: ExpiringKind) -> Self {
        Self {
            store,
            kind,
            _t: PhantomData,
        }
    }

    fn encode(&self, value: &T) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec(value).map_err(|_| StateError::Encode(self.kind))
    }

    fn write<'a>(
        &self,
        key: &'a [u8],
        group: &'a [u8],
        value: &'a [u8],
        expires_at: i64,
    ) -> ExpiringWrite<'a> {
        ExpiringWrite {
            kind: self.kind,
            key,
            group,
            value,
            expires_at,
        }
    }

    /// Creates `value` under `key` at `now` unless a live record holds the key (`false`).
    pub async fn create(
        &self,
        key: &[u8],
        group: &[u8],
        value: &T,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StateError> {
        let bytes = self.encode(value)?;
        Ok(self
            .store
            .create(self.write(key, group, &bytes, expires_at), now)
            .await?)
    }

    /// The live record `key`.
    pub async fn get(&self, key: &[u8], now: i64) -> Result<Option<Versioned<T>>, StateError> {
        let Some(record) = self.store.get(self.kind, key, now).await? else {
            return Ok(None);
        };
        let value =
            serde_json::from_slice(&record.value).map_err(|_| StateError::Corrupt(self.kind))?;
        Ok(Some(Versioned {
            value,
            revision: record.revision,
            expires_at: record.expires_at,
        }))
    }

    /// Replaces record `key` if it is still at `revision`: `false` when another writer
    /// changed or deleted it first (nothing written).
    pub async fn update(
        &self,
        key: &[u8],
        revision: u64,
        value: &T,
        expires_at: i64,
    ) -> Result<bool, StateError> {
        let bytes = self.encode(value)?;
        match self
            .store
            .update(self.write(key, &[], &bytes, expires_at), revision)
            .await
        {
            Ok(_) => Ok(true),
            Err(DatastoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes record `key` (only at `revision` when given); `false` when it was not there.
    pub async fn delete(&self, key: &[u8], revision: Option<u64>) -> Result<bool, StateError> {
        Ok(self.store.delete(self.kind, key, revision).await?)
    }

    /// The keys of the live records of `group`, oldest first, at most `limit`.
    pub async fn group(
        &self,
        group: &[u8],
        now: i64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StateError> {
        Ok(self.store.group(self.kind, group, now, limit).await?)
    }

    /// Applies `change` to the live record `key` and writes it back, retrying on concurrent
    /// writers; `change` sees the record and its expiry and returns the new expiry (`None`:
    /// delete the record) and the result. `None` when there is no live record.
    pub async fn modify<R>(
        &self,
        key: &[u8],
        now: i64,
        mut change: impl FnMut(&mut T, i64) -> (Option<i64>, R),
    ) -> Result<Option<R>, StateError> {
        for attempt in 0..CAS_ATTEMPTS {
            pause_before(attempt).await;
            let Some(mut current) = self.get(key, now).await? else {
                return Ok(None);
            };
            let (expires_at, result) = change(&mut current.value, current.expires_at);
            let done = match expires_at {
                Some(at) => {
                    self.update(key, current.revision, &current.value, at)
                        .await?
                }
                None => self.delete(key, Some(current.revision)).await?,
            };
            if done {
                return Ok(Some(result));
            }
        }
        Err(StateError::Contended(self.kind))
    }
}

/// Attempts of a compare-and-swap loop over records ([`Records::modify`] and the loops
/// that need more than it offers) before it reports [`StateError::Contended`].
pub const CAS_ATTEMPTS: usize = 8;

/// Call at the top of every attempt of such a loop: from the second attempt on, waits a
/// random time of up to 2^`attempt` ms (at most 64 ms), so writers that collided stop
/// colliding instead of retrying in lock step.
pub async fn pause_before(attempt: usize) {
    if attempt == 0 {
        return;
    }
    let mut random = [0u8; 4];
    // Without randomness the retries are merely not spread out.
    let _ = aws_lc_rs::rand::fill(&mut random);
    let cap_micros = 1000u64 << attempt.min(6);
    let micros = u64::from(u32::from_le_bytes(random)) % cap_micros;
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}

/// SHA-256 of `parts`, each length-prefixed (the key of a bearer secret or of a pair).
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}
