//! An in-memory datastore for unit tests (no I/O, so paused-time tests stay exact).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tessera_proto::wire::tessera::types::v1::Bundle;

use super::{BundleStore, BundleWrite, CaJournalStore, DatastoreError, JournalBlob};

/// Journals and bundles in maps.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    journals: BTreeMap<String, JournalBlob>,
    bundles: BTreeMap<String, Bundle>,
}

fn conflict(what: &str) -> DatastoreError {
    DatastoreError::Conflict(what.to_string())
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CaJournalStore for MemoryStore {
    async fn load_journal(&self, server_id: &str) -> Result<Option<JournalBlob>, DatastoreError> {
        Ok(self.lock().journals.get(server_id).cloned())
    }

    async fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> Result<u64, DatastoreError> {
        let mut inner = self.lock();
        if inner.journals.get(server_id).map(|j| j.revision) != expected_revision {
            return Err(conflict("journal"));
        }
        if let Some(w) = &bundle {
            let stored = inner
                .bundles
                .get(&w.bundle.trust_domain)
                .map(|b| b.sequence);
            if stored != w.expected_sequence {
                return Err(conflict("bundle"));
            }
            inner
                .bundles
                .insert(w.bundle.trust_domain.clone(), w.bundle.clone());
        }
        let revision = expected_revision.map_or(1, |r| r + 1);
        inner.journals.insert(
            server_id.to_string(),
            JournalBlob {
                revision,
                data: data.to_vec(),
            },
        );
        Ok(revision)
    }
}

impl BundleStore for MemoryStore {
    async fn get_bundle(&self, trust_domain: &str) -> Result<Option<Bundle>, DatastoreError> {
        Ok(self.lock().bundles.get(trust_domain).cloned())
    }

    async fn list_bundles(&self) -> Result<Vec<Bundle>, DatastoreError> {
        Ok(self.lock().bundles.values().cloned().collect())
    }

    async fn put_bundle(&self, write: BundleWrite<'_>) -> Result<(), DatastoreError> {
        let mut inner = self.lock();
        let stored = inner
            .bundles
            .get(&write.bundle.trust_domain)
            .map(|b| b.sequence);
        if stored != write.expected_sequence {
            return Err(conflict("bundle"));
        }
        inner
            .bundles
            .insert(write.bundle.trust_domain.clone(), write.bundle.clone());
        Ok(())
    }

    async fn delete_bundle(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        Ok(self.lock().bundles.remove(trust_domain).is_some())
    }
}
