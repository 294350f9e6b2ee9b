//! Federation relationships on sled: prost `FederationRelationship` keyed by trust domain in
//! one tree, the fetcher's prost `FederationStatus` in another (so a status write never
//! overwrites an operator's change).

use prost::Message as _;
use tessera_proto::wire::tessera::admin::v1::{FederationRelationship, FederationStatus};

use super::{SledStore, storage};
use crate::datastore::{DatastoreError, FederationStore};

fn decode_relationship(bytes: &[u8]) -> Result<FederationRelationship, DatastoreError> {
    FederationRelationship::decode(bytes)
        .map_err(|e| DatastoreError::Corrupt(format!("federation relationship: {e}")))
}

fn decode_status(bytes: &[u8]) -> Result<FederationStatus, DatastoreError> {
    FederationStatus::decode(bytes)
        .map_err(|e| DatastoreError::Corrupt(format!("federation status: {e}")))
}

impl SledStore {
    fn federation_status(&self, key: &[u8]) -> Result<Option<FederationStatus>, DatastoreError> {
        self.federation_status
            .get(key)
            .map_err(storage)?
            .map(|v| decode_status(&v))
            .transpose()
    }
}

impl FederationStore for SledStore {
    async fn create_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let key = relationship.trust_domain.as_bytes();
        // A status left by a racing fetcher of a deleted relationship is not this one's.
        self.federation_status.remove(key).map_err(storage)?;
        self.federations
            .compare_and_swap(key, None::<&[u8]>, Some(relationship.encode_to_vec()))
            .map_err(storage)?
            .map_err(|_| {
                DatastoreError::AlreadyExists(format!(
                    "federation relationship {}",
                    relationship.trust_domain
                ))
            })?;
        self.flush().await
    }

    async fn update_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let key = relationship.trust_domain.as_bytes();
        let not_found = || {
            DatastoreError::NotFound(format!(
                "federation relationship {}",
                relationship.trust_domain
            ))
        };
        let current = self.federations.get(key).map_err(storage)?;
        if current.is_none() {
            return Err(not_found());
        }
        self.federations
            .compare_and_swap(key, current, Some(relationship.encode_to_vec()))
            .map_err(storage)?
            .map_err(|_| {
                DatastoreError::Conflict(format!(
                    "federation relationship {} changed",
                    relationship.trust_domain
                ))
            })?;
        self.flush().await
    }

    async fn get_federation(
        &self,
        trust_domain: &str,
    ) -> Result<Option<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        let key = trust_domain.as_bytes();
        let Some(bytes) = self.federations.get(key).map_err(storage)? else {
            return Ok(None);
        };
        Ok(Some((
            decode_relationship(&bytes)?,
            self.federation_status(key)?,
        )))
    }

    async fn list_federations(
        &self,
    ) -> Result<Vec<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        self.federations
            .iter()
            .map(|kv| {
                let (key, value) = kv.map_err(storage)?;
                Ok((decode_relationship(&value)?, self.federation_status(&key)?))
            })
            .collect()
    }

    async fn delete_federation(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        let key = trust_domain.as_bytes();
        let existed = self.federations.remove(key).map_err(storage)?.is_some();
        self.federation_status.remove(key).map_err(storage)?;
        self.flush().await?;
        Ok(existed)
    }

    async fn put_federation_status(
        &self,
        trust_domain: &str,
        status: &FederationStatus,
    ) -> Result<bool, DatastoreError> {
        let key = trust_domain.as_bytes();
        if !self.federations.contains_key(key).map_err(storage)? {
            return Ok(false);
        }
        self.federation_status
            .insert(key, status.encode_to_vec())
            .map_err(storage)?;
        self.flush().await?;
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    #[tokio::test]
    async fn sled_passes_the_federation_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::SledStore::open(dir.path()).unwrap();
        crate::datastore::federation_store_tests::exercise(&store).await;
    }
}
