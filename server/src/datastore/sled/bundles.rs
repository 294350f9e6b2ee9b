//! Bundles on sled: prost-encoded `tessera.types.v1.Bundle` keyed by trust domain.

use prost::Message as _;
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::{SledStore, storage};
use crate::changes::Change;
use crate::datastore::{BundleStore, BundleWrite, DatastoreError};

pub(super) fn decode(bytes: &[u8]) -> Result<Bundle, DatastoreError> {
    Bundle::decode(bytes).map_err(|e| DatastoreError::Corrupt(format!("bundle: {e}")))
}

/// Checks that `current` (the stored bundle) still has the expected sequence.
pub(super) fn check_sequence(
    current: Option<&[u8]>,
    write: &BundleWrite<'_>,
) -> Result<(), DatastoreError> {
    let stored = current.map(decode).transpose()?.map(|b| b.sequence);
    if stored == write.expected_sequence {
        Ok(())
    } else {
        Err(DatastoreError::Conflict(format!(
            "bundle {} changed (sequence {stored:?}, expected {:?})",
            write.bundle.trust_domain, write.expected_sequence
        )))
    }
}

impl BundleStore for SledStore {
    async fn get_bundle(&self, trust_domain: &str) -> Result<Option<Bundle>, DatastoreError> {
        self.bundles
            .get(trust_domain.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn list_bundles(&self) -> Result<Vec<Bundle>, DatastoreError> {
        self.bundles
            .iter()
            .map(|kv| kv.map_err(storage).and_then(|(_, v)| decode(&v)))
            .collect()
    }

    async fn put_bundle(&self, write: BundleWrite<'_>) -> Result<(), DatastoreError> {
        let key = write.bundle.trust_domain.as_bytes();
        let current = self.bundles.get(key).map_err(storage)?;
        check_sequence(current.as_deref(), &write)?;
        self.bundles
            .compare_and_swap(key, current, Some(write.bundle.encode_to_vec()))
            .map_err(storage)?
            .map_err(|_| {
                DatastoreError::Conflict(format!("bundle {} changed", write.bundle.trust_domain))
            })?;
        self.flush().await?;
        self.changes.announce(Change::Bundle {
            trust_domain: write.bundle.trust_domain.clone(),
        });
        Ok(())
    }

    async fn delete_bundle(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        let existed = self
            .bundles
            .remove(trust_domain.as_bytes())
            .map_err(storage)?
            .is_some();
        self.flush().await?;
        if existed {
            self.changes.announce(Change::Bundle {
                trust_domain: trust_domain.to_owned(),
            });
        }
        Ok(existed)
    }
}
