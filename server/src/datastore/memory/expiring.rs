//! [`ExpiringStore`] on the in-memory test store (one mutex: every operation is atomic).

use super::MemoryStore;
use crate::datastore::expiring::check_write;
use crate::datastore::{
    DatastoreError, ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite,
};

/// One record as held.
#[derive(Debug, Clone)]
pub(super) struct Held {
    group: Vec<u8>,
    created_at: i64,
    record: ExpiringRecord,
}

fn key(kind: ExpiringKind, key: &[u8]) -> (u8, Vec<u8>) {
    (kind.code(), key.to_vec())
}

impl MemoryStore {
    /// How many records of `kind` are held, live or not (tests).
    pub fn expiring_held(&self, kind: ExpiringKind) -> usize {
        self.scoped_lock()
            .expiring
            .keys()
            .filter(|(c, _)| *c == kind.code())
            .count()
    }
}

impl ExpiringStore for MemoryStore {
    async fn create_expiring(
        &self,
        write: ExpiringWrite<'_>,
        now: i64,
    ) -> Result<bool, DatastoreError> {
        check_write(&write)?;
        let mut inner = self.scoped_lock();
        let k = key(write.kind, write.key);
        if inner
            .expiring
            .get(&k)
            .is_some_and(|h| h.record.expires_at > now)
        {
            return Ok(false);
        }
        let held = Held {
            group: write.group.to_vec(),
            created_at: now,
            record: ExpiringRecord {
                value: write.value.to_vec(),
                revision: 1,
                expires_at: write.expires_at,
            },
        };
        inner.expiring.insert(k, held);
        Ok(true)
    }

    async fn get_expiring(
        &self,
        kind: ExpiringKind,
        k: &[u8],
        now: i64,
    ) -> Result<Option<ExpiringRecord>, DatastoreError> {
        Ok(self
            .scoped_lock()
            .expiring
            .get(&key(kind, k))
            .filter(|h| h.record.expires_at > now)
            .map(|h| h.record.clone()))
    }

    async fn update_expiring(
        &self,
        write: ExpiringWrite<'_>,
        expected_revision: u64,
    ) -> Result<u64, DatastoreError> {
        check_write(&write)?;
        let mut inner = self.scoped_lock();
        match inner.expiring.get_mut(&key(write.kind, write.key)) {
            Some(held) if held.record.revision == expected_revision => {
                held.record.revision += 1;
                held.record.value = write.value.to_vec();
                held.record.expires_at = write.expires_at;
                Ok(held.record.revision)
            }
            _ => Err(DatastoreError::Conflict("expiring record".into())),
        }
    }

    async fn delete_expiring(
        &self,
        kind: ExpiringKind,
        k: &[u8],
        expected_revision: Option<u64>,
    ) -> Result<bool, DatastoreError> {
        let mut inner = self.scoped_lock();
        let k = key(kind, k);
        let matches = inner
            .expiring
            .get(&k)
            .is_some_and(|h| expected_revision.is_none_or(|r| r == h.record.revision));
        if matches {
            inner.expiring.remove(&k);
        }
        Ok(matches)
    }

    async fn group_expiring(
        &self,
        kind: ExpiringKind,
        group: &[u8],
        now: i64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, DatastoreError> {
        let inner = self.scoped_lock();
        let mut live: Vec<(i64, Vec<u8>)> = inner
            .expiring
            .iter()
            .filter(|((c, _), h)| {
                *c == kind.code() && h.group == group && h.record.expires_at > now
            })
            .map(|((_, k), h)| (h.created_at, k.clone()))
            .collect();
        live.sort();
        Ok(live.into_iter().take(limit).map(|(_, k)| k).collect())
    }

    async fn prune_expiring(&self, now: i64) -> Result<u64, DatastoreError> {
        let mut inner = self.scoped_lock();
        let before = inner.expiring.len();
        inner.expiring.retain(|_, h| h.record.expires_at > now);
        Ok((before - inner.expiring.len()) as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::MemoryStore;
    use crate::datastore::expiring_store_tests;

    #[tokio::test]
    async fn memory_passes_the_expiring_store_suite() {
        expiring_store_tests::exercise(&MemoryStore::default()).await;
        expiring_store_tests::races(Arc::new(MemoryStore::default())).await;
    }
}
