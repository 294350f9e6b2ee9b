//! Tenants on the in-memory test store: each tenant other than `default` has maps of its
//! own ([`MemoryStore::scoped_lock`]).

use std::sync::Arc;

use super::MemoryStore;
use crate::datastore::{DatastoreError, TenantId, TenantRecord, TenantScope, TenantStore};

impl TenantScope for MemoryStore {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn for_tenant(&self, tenant: &TenantId) -> Result<Self, DatastoreError> {
        let scoped = if tenant.is_default() {
            None
        } else {
            let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            let entry = tenants.entry(tenant.clone()).or_insert_with(|| {
                (
                    TenantRecord {
                        id: tenant.clone(),
                        name: String::new(),
                        created_at: -1,
                        updated_at: -1,
                    },
                    Arc::default(),
                )
            });
            Some(Arc::clone(&entry.1))
        };
        Ok(Self {
            scoped,
            tenant: tenant.clone(),
            ..self.clone()
        })
    }
}

impl TenantStore for MemoryStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let taken = tenant.id.is_default()
            || tenants
                .get(&tenant.id)
                .is_some_and(|(record, _)| record.created_at >= 0);
        if taken {
            return Err(DatastoreError::AlreadyExists(format!(
                "tenant {} already exists",
                tenant.id
            )));
        }
        let maps = tenants
            .remove(&tenant.id)
            .map(|(_, maps)| maps)
            .unwrap_or_default();
        tenants.insert(tenant.id.clone(), (tenant.clone(), maps));
        Ok(())
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<TenantRecord>, DatastoreError> {
        if id.is_default() {
            return Ok(Some(TenantRecord {
                id: id.clone(),
                name: "Default".into(),
                created_at: 0,
                updated_at: 0,
            }));
        }
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        Ok(tenants
            .get(id)
            .filter(|(record, _)| record.created_at >= 0)
            .map(|(record, _)| record.clone()))
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, DatastoreError> {
        let mut all = vec![TenantRecord {
            id: TenantId::default_tenant(),
            name: "Default".into(),
            created_at: 0,
            updated_at: 0,
        }];
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        all.extend(
            tenants
                .values()
                .filter(|(record, _)| record.created_at >= 0)
                .map(|(record, _)| record.clone()),
        );
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn update_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        match tenants.get_mut(&tenant.id) {
            Some((record, _)) if record.created_at >= 0 => {
                *record = tenant.clone();
                Ok(())
            }
            _ => Err(DatastoreError::NotFound(format!("no tenant {}", tenant.id))),
        }
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, DatastoreError> {
        if id.is_default() {
            return Err(DatastoreError::Conflict(
                "the default tenant cannot be deleted".into(),
            ));
        }
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        Ok(tenants
            .remove(id)
            .is_some_and(|(record, _)| record.created_at >= 0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tenant_tests {
    #[tokio::test]
    async fn memory_passes_the_tenant_suite() {
        crate::datastore::tenant_store_tests::exercise(&super::super::MemoryStore::default()).await;
    }
}
