//! Short-lived records on sled.
//!
//! - `expiring`: `kind ‖ key` → `revision ‖ created_at ‖ expires_at ‖ group length ‖ group ‖
//!   value` (integers 8 bytes big-endian, the group length one byte);
//! - `expiring_groups`: `kind ‖ group length ‖ group ‖ created_at ‖ key` → empty;
//! - `expiring_by_expiry`: `expires_at ‖ kind ‖ key` → empty.
//!
//! Times in index keys are biased (`^ 1 << 63`) so byte order is time order. Index entries
//! are written before the record's compare-and-swap and checked against the record when
//! read, so a crash between the two leaves at most an index entry that names nothing (the
//! group listing and pruning drop those); a record is never without its expiry entry.

use ::sled::Tree;

use super::{SledStore, storage};
use crate::datastore::expiring::check_write;
use crate::datastore::{
    DatastoreError, ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite,
};

fn biased(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

fn record_key(kind: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(kind);
    k.extend_from_slice(key);
    k
}

fn group_prefix(kind: u8, group: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + group.len() + 8);
    k.push(kind);
    k.push(group.len() as u8);
    k.extend_from_slice(group);
    k
}

fn group_key(kind: u8, group: &[u8], created_at: i64, key: &[u8]) -> Vec<u8> {
    let mut k = group_prefix(kind, group);
    k.extend_from_slice(&biased(created_at));
    k.extend_from_slice(key);
    k
}

fn expiry_key(expires_at: i64, kind: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.extend_from_slice(&biased(expires_at));
    k.push(kind);
    k.extend_from_slice(key);
    k
}

/// A record as stored.
struct Stored {
    revision: u64,
    created_at: i64,
    expires_at: i64,
    group: Vec<u8>,
    value: Vec<u8>,
}

impl Stored {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(25 + self.group.len() + self.value.len());
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.push(self.group.len() as u8);
        out.extend_from_slice(&self.group);
        out.extend_from_slice(&self.value);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DatastoreError> {
        let corrupt = || DatastoreError::Corrupt("expiring record".into());
        let int = |at: usize| -> Result<[u8; 8], DatastoreError> {
            bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(corrupt)
        };
        let group_len = usize::from(*bytes.get(24).ok_or_else(corrupt)?);
        let group = bytes.get(25..25 + group_len).ok_or_else(corrupt)?;
        Ok(Self {
            revision: u64::from_be_bytes(int(0)?),
            created_at: i64::from_be_bytes(int(8)?),
            expires_at: i64::from_be_bytes(int(16)?),
            group: group.to_vec(),
            value: bytes.get(25 + group_len..).ok_or_else(corrupt)?.to_vec(),
        })
    }

    fn record(self) -> ExpiringRecord {
        ExpiringRecord {
            value: self.value,
            revision: self.revision,
            expires_at: self.expires_at,
        }
    }
}

/// Inserts index entries. A writer that then loses its compare-and-swap leaves them: a
/// concurrent winner may have written the very same entries, and entries that name nothing
/// are dropped when read.
fn index(trees: &[(&Tree, &[u8])]) -> Result<(), DatastoreError> {
    for (tree, key) in trees {
        tree.insert(key, &[][..]).map_err(storage)?;
    }
    Ok(())
}

impl SledStore {
    fn load_expiring(&self, key: &[u8]) -> Result<Option<(::sled::IVec, Stored)>, DatastoreError> {
        match self.t.expiring.get(key).map_err(storage)? {
            Some(bytes) => {
                let stored = Stored::decode(&bytes)?;
                Ok(Some((bytes, stored)))
            }
            None => Ok(None),
        }
    }

    /// Removes the group index entry of `stored` (the record `key` of `kind`), if any.
    fn unindex_group(&self, kind: u8, key: &[u8], stored: &Stored) -> Result<(), DatastoreError> {
        if !stored.group.is_empty() {
            self.t
                .expiring_groups
                .remove(group_key(kind, &stored.group, stored.created_at, key))
                .map_err(storage)?;
        }
        Ok(())
    }
}

impl ExpiringStore for SledStore {
    async fn create_expiring(
        &self,
        write: ExpiringWrite<'_>,
        now: i64,
    ) -> Result<bool, DatastoreError> {
        check_write(&write)?;
        let kind = write.kind.code();
        let key = record_key(kind, write.key);
        let stored = Stored {
            revision: 1,
            created_at: now,
            expires_at: write.expires_at,
            group: write.group.to_vec(),
            value: write.value.to_vec(),
        };
        let by_expiry = expiry_key(write.expires_at, kind, write.key);
        let by_group = group_key(kind, write.group, now, write.key);
        let mut indexes: Vec<(&Tree, &[u8])> = vec![(&self.t.expiring_by_expiry, &by_expiry)];
        if !write.group.is_empty() {
            indexes.push((&self.t.expiring_groups, &by_group));
        }
        loop {
            let old = self.load_expiring(&key)?;
            if old.as_ref().is_some_and(|(_, s)| s.expires_at > now) {
                return Ok(false);
            }
            index(&indexes)?;
            let swapped = self
                .t
                .expiring
                .compare_and_swap(&key, old.as_ref().map(|(b, _)| b), Some(stored.encode()))
                .map_err(storage)?;
            if swapped.is_ok() {
                if let Some((_, old)) = old {
                    self.unindex_group(kind, write.key, &old)?;
                }
                self.flush().await?;
                return Ok(true);
            }
            // Another writer got there first: look again.
        }
    }

    async fn get_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        now: i64,
    ) -> Result<Option<ExpiringRecord>, DatastoreError> {
        Ok(self
            .load_expiring(&record_key(kind.code(), key))?
            .map(|(_, s)| s)
            .filter(|s| s.expires_at > now)
            .map(Stored::record))
    }

    async fn update_expiring(
        &self,
        write: ExpiringWrite<'_>,
        expected_revision: u64,
    ) -> Result<u64, DatastoreError> {
        check_write(&write)?;
        let kind = write.kind.code();
        let key = record_key(kind, write.key);
        let conflict = || DatastoreError::Conflict("expiring record".into());
        let Some((bytes, old)) = self.load_expiring(&key)? else {
            return Err(conflict());
        };
        if old.revision != expected_revision {
            return Err(conflict());
        }
        let moved = write.expires_at != old.expires_at;
        let new = Stored {
            revision: old.revision + 1,
            expires_at: write.expires_at,
            value: write.value.to_vec(),
            ..old
        };
        let by_expiry = expiry_key(write.expires_at, kind, write.key);
        if moved {
            index(&[(&self.t.expiring_by_expiry, &by_expiry)])?;
        }
        let swapped = self
            .t
            .expiring
            .compare_and_swap(&key, Some(&bytes), Some(new.encode()))
            .map_err(storage)?;
        if swapped.is_err() {
            return Err(conflict());
        }
        self.flush().await?;
        Ok(new.revision)
    }

    async fn delete_expiring(
        &self,
        kind: ExpiringKind,
        key: &[u8],
        expected_revision: Option<u64>,
    ) -> Result<bool, DatastoreError> {
        let full = record_key(kind.code(), key);
        loop {
            let Some((bytes, old)) = self.load_expiring(&full)? else {
                return Ok(false);
            };
            if expected_revision.is_some_and(|r| r != old.revision) {
                return Ok(false);
            }
            let swapped = self
                .t
                .expiring
                .compare_and_swap(&full, Some(&bytes), None::<&[u8]>)
                .map_err(storage)?;
            if swapped.is_ok() {
                self.unindex_group(kind.code(), key, &old)?;
                self.flush().await?;
                return Ok(true);
            }
        }
    }

    async fn group_expiring(
        &self,
        kind: ExpiringKind,
        group: &[u8],
        now: i64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, DatastoreError> {
        if group.is_empty() || group.len() > crate::datastore::MAX_EXPIRING_GROUP {
            return Ok(Vec::new());
        }
        let prefix = group_prefix(kind.code(), group);
        let mut keys = Vec::new();
        for entry in self.t.expiring_groups.scan_prefix(&prefix) {
            if keys.len() >= limit {
                break;
            }
            let (index_key, _) = entry.map_err(storage)?;
            let Some(rest) = index_key.get(prefix.len()..) else {
                continue;
            };
            let (created, key) = rest.split_at_checked(8).unwrap_or((&[], &[]));
            let current = self.load_expiring(&record_key(kind.code(), key))?;
            match current {
                Some((_, s)) if s.group == group && biased(s.created_at) == created => {
                    if s.expires_at > now {
                        keys.push(key.to_vec());
                    }
                }
                // Names nothing (deleted, replaced, or a crash before the record): drop it.
                _ => {
                    self.t.expiring_groups.remove(&index_key).map_err(storage)?;
                }
            }
        }
        Ok(keys)
    }

    async fn prune_expiring(&self, now: i64) -> Result<u64, DatastoreError> {
        let mut pruned = 0;
        let end = biased(now.saturating_add(1));
        for entry in self.t.expiring_by_expiry.range(..end.as_slice()) {
            let (index_key, _) = entry.map_err(storage)?;
            if let Some((&kind, key)) = index_key.get(8..).and_then(<[u8]>::split_first) {
                let full = record_key(kind, key);
                if let Some((bytes, old)) = self.load_expiring(&full)?
                    && old.expires_at <= now
                    && self
                        .t
                        .expiring
                        .compare_and_swap(&full, Some(&bytes), None::<&[u8]>)
                        .map_err(storage)?
                        .is_ok()
                {
                    self.unindex_group(kind, key, &old)?;
                    pruned += 1;
                }
            }
            self.t
                .expiring_by_expiry
                .remove(&index_key)
                .map_err(storage)?;
        }
        self.flush().await?;
        Ok(pruned)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::SledStore;
    use crate::datastore::expiring_store_tests;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_passes_the_expiring_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        expiring_store_tests::exercise(&store).await;
        let dir = tempfile::tempdir().unwrap();
        expiring_store_tests::races(Arc::new(SledStore::open(dir.path()).unwrap())).await;
    }
}
