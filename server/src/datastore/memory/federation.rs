//! [`FederationStore`] on the in-memory test store.

use tessera_proto::wire::tessera::admin::v1::{FederationRelationship, FederationStatus};

use super::MemoryStore;
use crate::datastore::{DatastoreError, FederationStore};

impl FederationStore for MemoryStore {
    async fn create_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.lock();
        let td = &relationship.trust_domain;
        if inner.federations.contains_key(td) {
            return Err(DatastoreError::AlreadyExists(format!(
                "federation relationship {td}"
            )));
        }
        inner
            .federations
            .insert(td.clone(), (relationship.clone(), None));
        Ok(())
    }

    async fn update_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.lock();
        let td = &relationship.trust_domain;
        match inner.federations.get_mut(td) {
            Some(held) => {
                held.0 = relationship.clone();
                Ok(())
            }
            None => Err(DatastoreError::NotFound(format!(
                "federation relationship {td}"
            ))),
        }
    }

    async fn get_federation(
        &self,
        trust_domain: &str,
    ) -> Result<Option<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        Ok(self.lock().federations.get(trust_domain).cloned())
    }

    async fn list_federations(
        &self,
    ) -> Result<Vec<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        Ok(self.lock().federations.values().cloned().collect())
    }

    async fn delete_federation(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        Ok(self.lock().federations.remove(trust_domain).is_some())
    }

    async fn put_federation_status(
        &self,
        trust_domain: &str,
        status: &FederationStatus,
    ) -> Result<bool, DatastoreError> {
        match self.lock().federations.get_mut(trust_domain) {
            Some(held) => {
                held.1 = Some(status.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
