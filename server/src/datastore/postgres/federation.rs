//! Federation relationships: prost `FederationRelationship` keyed by trust domain, with the
//! fetcher's prost `FederationStatus` in its own column (a status write touches only it).

use prost::Message as _;
use tessera_proto::wire::tessera::admin::v1::{FederationRelationship, FederationStatus};

use super::PgStore;
use super::errors::{db_error, from_proto, has_nul, nul_key};
use crate::datastore::{DatastoreError, FederationStore};

type Row = (Vec<u8>, Option<Vec<u8>>);

fn decode(
    (data, status): &Row,
) -> Result<(FederationRelationship, Option<FederationStatus>), DatastoreError> {
    Ok((
        from_proto("federation relationship", data)?,
        status
            .as_deref()
            .map(|s| from_proto("federation status", s))
            .transpose()?,
    ))
}

impl FederationStore for PgStore {
    async fn create_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let td = relationship.trust_domain.as_str();
        if has_nul(&[td]) {
            return Err(nul_key("federation relationship"));
        }
        let what = format!("federation relationship {td}");
        sqlx::query(
            "INSERT INTO federation_relationships (trust_domain, data, status) \
             VALUES ($1, $2, NULL)",
        )
        .bind(td)
        .bind(relationship.encode_to_vec())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(&what, e))?;
        Ok(())
    }

    async fn update_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> Result<(), DatastoreError> {
        let td = relationship.trust_domain.as_str();
        let what = format!("federation relationship {td}");
        if has_nul(&[td]) {
            return Err(DatastoreError::NotFound(what));
        }
        let done =
            sqlx::query("UPDATE federation_relationships SET data = $2 WHERE trust_domain = $1")
                .bind(td)
                .bind(relationship.encode_to_vec())
                .execute(&self.pool)
                .await
                .map_err(|e| db_error(&what, e))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(DatastoreError::NotFound(what))
        }
    }

    async fn get_federation(
        &self,
        trust_domain: &str,
    ) -> Result<Option<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        if has_nul(&[trust_domain]) {
            return Ok(None);
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT data, status FROM federation_relationships WHERE trust_domain = $1",
        )
        .bind(trust_domain)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("federation relationship", e))?;
        row.as_ref().map(decode).transpose()
    }

    async fn list_federations(
        &self,
    ) -> Result<Vec<(FederationRelationship, Option<FederationStatus>)>, DatastoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT data, status FROM federation_relationships ORDER BY trust_domain",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("federation relationships", e))?;
        rows.iter().map(decode).collect()
    }

    async fn delete_federation(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[trust_domain]) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM federation_relationships WHERE trust_domain = $1")
            .bind(trust_domain)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("federation relationship", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_federation_status(
        &self,
        trust_domain: &str,
        status: &FederationStatus,
    ) -> Result<bool, DatastoreError> {
        if has_nul(&[trust_domain]) {
            return Ok(false);
        }
        let done =
            sqlx::query("UPDATE federation_relationships SET status = $2 WHERE trust_domain = $1")
                .bind(trust_domain)
                .bind(status.encode_to_vec())
                .execute(&self.pool)
                .await
                .map_err(|e| db_error("federation status", e))?;
        Ok(done.rows_affected() > 0)
    }
}
