//! Tenants on sled: records in the `tenants` tree; each tenant's records in trees of its
//! own ([`TenantTrees`]), opened once and shared by every handle scoped to it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::codec::{from_json, to_json};
use super::{SledStore, TENANT_TREE_PREFIX, TenantTrees, storage};
use crate::datastore::{DatastoreError, TenantId, TenantRecord, TenantScope, TenantStore};

/// A tenant as stored (its ID is the key).
#[derive(Serialize, Deserialize)]
struct Stored {
    name: String,
    created_at: i64,
    updated_at: i64,
}

/// The `default` tenant before anyone named it: it always exists.
fn implicit_default() -> TenantRecord {
    TenantRecord {
        id: TenantId::default_tenant(),
        name: "Default".into(),
        created_at: 0,
        updated_at: 0,
    }
}

fn decode(key: &[u8], value: &[u8]) -> Result<TenantRecord, DatastoreError> {
    let id = std::str::from_utf8(key)
        .ok()
        .and_then(|k| TenantId::parse(k).ok())
        .ok_or_else(|| DatastoreError::Corrupt("tenant key is not a tenant ID".into()))?;
    let stored: Stored = from_json("tenant", value)?;
    Ok(TenantRecord {
        id,
        name: stored.name,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    })
}

fn encode(tenant: &TenantRecord) -> Result<Vec<u8>, DatastoreError> {
    to_json(
        "tenant",
        &Stored {
            name: tenant.name.clone(),
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        },
    )
}

impl TenantStore for SledStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        let taken =
            || DatastoreError::AlreadyExists(format!("tenant {} already exists", tenant.id));
        if tenant.id.is_default() {
            return Err(taken());
        }
        let swapped = self
            .tenants
            .compare_and_swap(
                tenant.id.as_str().as_bytes(),
                None::<&[u8]>,
                Some(encode(tenant)?),
            )
            .map_err(storage)?;
        if swapped.is_err() {
            return Err(taken());
        }
        self.flush().await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<TenantRecord>, DatastoreError> {
        match self.tenants.get(id.as_str().as_bytes()).map_err(storage)? {
            Some(value) => decode(id.as_str().as_bytes(), &value).map(Some),
            None if id.is_default() => Ok(Some(implicit_default())),
            None => Ok(None),
        }
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, DatastoreError> {
        let mut all = Vec::new();
        for item in self.tenants.iter() {
            let (key, value) = item.map_err(storage)?;
            all.push(decode(&key, &value)?);
        }
        if !all.iter().any(|t| t.id.is_default()) {
            all.push(implicit_default());
            all.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Ok(all)
    }

    async fn update_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        let key = tenant.id.as_str().as_bytes();
        if !tenant.id.is_default() && !self.tenants.contains_key(key).map_err(storage)? {
            return Err(DatastoreError::NotFound(format!("no tenant {}", tenant.id)));
        }
        self.tenants.insert(key, encode(tenant)?).map_err(storage)?;
        self.flush().await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, DatastoreError> {
        if id.is_default() {
            return Err(DatastoreError::Conflict(
                "the default tenant cannot be deleted".into(),
            ));
        }
        let Some(_) = self
            .tenants
            .remove(id.as_str().as_bytes())
            .map_err(storage)?
        else {
            return Ok(false);
        };
        // The record goes first, so a crash between leaves orphan trees (emptied on the
        // next delete of the same ID), never a tenant with half its records.
        self.flush().await?;
        if let Ok(mut opened) = self.opened.lock()
            && let Some(trees) = opened.remove(id)
        {
            // A handle still held elsewhere must not authenticate the tenant's clients.
            trees.clients.clear();
        }
        let prefix = format!("{TENANT_TREE_PREFIX}{id}/");
        for name in self.db.tree_names() {
            if name.starts_with(prefix.as_bytes()) {
                self.db.drop_tree(&name).map_err(storage)?;
            }
        }
        self.flush().await?;
        Ok(true)
    }
}

impl TenantScope for SledStore {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn for_tenant(&self, tenant: &TenantId) -> Result<Self, DatastoreError> {
        if tenant == &self.tenant {
            return Ok(self.clone());
        }
        let trees = {
            let mut opened = self
                .opened
                .lock()
                .map_err(|_| DatastoreError::Storage("tenant tree cache poisoned".into()))?;
            match opened.get(tenant) {
                Some(trees) => Arc::clone(trees),
                None => {
                    let trees = Arc::new(TenantTrees::open(&self.db, tenant)?);
                    opened.insert(tenant.clone(), Arc::clone(&trees));
                    trees
                }
            }
        };
        Ok(Self {
            tenant: tenant.clone(),
            t: trees,
            ..self.clone()
        })
    }
}
