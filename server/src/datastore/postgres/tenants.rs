//! The tenants table: the one cross-tenant path (no row-level security; only tenant IDs
//! and names live here). Deleting a tenant deletes every row it owns (`ON DELETE
//! CASCADE` from each tenant-owned table).

use super::PgStore;
use super::errors::{db_error, has_nul};
use crate::datastore::{DatastoreError, TenantId, TenantRecord, TenantStore};

type TenantRow = (String, String, i64, i64);

fn from_row((id, name, created_at, updated_at): TenantRow) -> Result<TenantRecord, DatastoreError> {
    Ok(TenantRecord {
        id: TenantId::parse(&id)
            .map_err(|e| DatastoreError::Corrupt(format!("tenant {id:?}: {e}")))?,
        name,
        created_at,
        updated_at,
    })
}

impl TenantStore for PgStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        if has_nul(&[&tenant.name]) {
            return Err(DatastoreError::Corrupt("tenant name holds NUL".into()));
        }
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant.id.as_str())
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .bind(tenant.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| match db_error("tenant", e) {
            DatastoreError::AlreadyExists(_) => {
                DatastoreError::AlreadyExists(format!("tenant {} already exists", tenant.id))
            }
            other => other,
        })?;
        Ok(())
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<TenantRecord>, DatastoreError> {
        let row: Option<TenantRow> =
            sqlx::query_as("SELECT id, name, created_at, updated_at FROM tenants WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("tenant", e))?;
        row.map(from_row).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, DatastoreError> {
        let rows: Vec<TenantRow> =
            sqlx::query_as("SELECT id, name, created_at, updated_at FROM tenants ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("tenants", e))?;
        rows.into_iter().map(from_row).collect()
    }

    async fn update_tenant(&self, tenant: &TenantRecord) -> Result<(), DatastoreError> {
        if has_nul(&[&tenant.name]) {
            return Err(DatastoreError::Corrupt("tenant name holds NUL".into()));
        }
        let done = sqlx::query("UPDATE tenants SET name = $2, updated_at = $3 WHERE id = $1")
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.updated_at)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("tenant", e))?;
        if done.rows_affected() == 0 {
            return Err(DatastoreError::NotFound(format!("no tenant {}", tenant.id)));
        }
        Ok(())
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, DatastoreError> {
        if id.is_default() {
            return Err(DatastoreError::Conflict(
                "the default tenant cannot be deleted".into(),
            ));
        }
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("tenant", e));
        // This replica forgets the tenant's clients at once (another replica within its
        // cache TTL; a tenant made again under the same ID inside that window may see a
        // deleted client there until then).
        self.clients.invalidate_prefix(&format!("{id}\0"));
        Ok(done?.rows_affected() > 0)
    }
}
