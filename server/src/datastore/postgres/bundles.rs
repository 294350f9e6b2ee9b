//! Bundles: prost-encoded `Bundle` with its sequence as a column for compare-and-swap.

use prost::Message as _;
use sqlx::PgConnection;
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::PgStore;
use super::errors::{db_error, from_proto, has_nul, nul_key, to_i64};
use crate::datastore::{BundleStore, BundleWrite, DatastoreError};

fn conflict(write: &BundleWrite<'_>) -> DatastoreError {
    DatastoreError::Conflict(format!(
        "bundle {} changed (expected sequence {:?})",
        write.bundle.trust_domain, write.expected_sequence
    ))
}

/// Writes `write.bundle` if the stored one still has the expected sequence (none when
/// `None`), on `conn` (a transaction or a pooled connection).
pub(super) async fn put(
    conn: &mut PgConnection,
    write: &BundleWrite<'_>,
) -> Result<(), DatastoreError> {
    let td = write.bundle.trust_domain.as_str();
    if has_nul(&[td]) {
        return Err(nul_key("bundle"));
    }
    let sequence = to_i64("bundle sequence", write.bundle.sequence)?;
    let data = write.bundle.encode_to_vec();
    let written = match write.expected_sequence {
        None => {
            sqlx::query(
                "INSERT INTO bundles (trust_domain, sequence, data) VALUES ($1, $2, $3) \
             ON CONFLICT (trust_domain) DO NOTHING",
            )
            .bind(td)
            .bind(sequence)
            .bind(&data)
            .execute(&mut *conn)
            .await
        }
        Some(expected) => sqlx::query(
            "UPDATE bundles SET sequence = $2, data = $3 WHERE trust_domain = $1 AND sequence = $4",
        )
        .bind(td)
        .bind(sequence)
        .bind(&data)
        .bind(to_i64("bundle sequence", expected)?)
        .execute(&mut *conn)
        .await,
    }
    .map_err(|e| db_error("bundle", e))?;
    if written.rows_affected() == 1 {
        Ok(())
    } else {
        Err(conflict(write))
    }
}

impl BundleStore for PgStore {
    async fn get_bundle(&self, trust_domain: &str) -> Result<Option<Bundle>, DatastoreError> {
        if has_nul(&[trust_domain]) {
            return Ok(None);
        }
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM bundles WHERE trust_domain = $1")
                .bind(trust_domain)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("bundle", e))?;
        row.map(|(data,)| from_proto("bundle", &data)).transpose()
    }

    async fn list_bundles(&self) -> Result<Vec<Bundle>, DatastoreError> {
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM bundles ORDER BY trust_domain")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("bundles", e))?;
        rows.iter()
            .map(|(data,)| from_proto("bundle", data))
            .collect()
    }

    async fn put_bundle(&self, write: BundleWrite<'_>) -> Result<(), DatastoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_error("bundle", e))?;
        put(&mut conn, &write).await
    }

    async fn delete_bundle(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[trust_domain]) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM bundles WHERE trust_domain = $1")
            .bind(trust_domain)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("bundle", e))?;
        Ok(done.rows_affected() > 0)
    }
}
