//! CA journals, one row per server replica, committed in one transaction with the bundle.

use super::PgStore;
use super::errors::{db_error, has_nul, nul_key, to_i64, to_u64};
use crate::datastore::{BundleWrite, CaJournalStore, DatastoreError, JournalBlob};

impl CaJournalStore for PgStore {
    async fn load_journal(&self, server_id: &str) -> Result<Option<JournalBlob>, DatastoreError> {
        if has_nul(&[server_id]) {
            return Ok(None);
        }
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT revision, data FROM ca_journals WHERE server_id = $1")
                .bind(server_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("CA journal", e))?;
        row.map(|(revision, data)| {
            Ok(JournalBlob {
                revision: to_u64("CA journal revision", revision)?,
                data,
            })
        })
        .transpose()
    }

    async fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> Result<u64, DatastoreError> {
        if has_nul(&[server_id]) {
            return Err(nul_key("CA journal"));
        }
        let new_revision = expected_revision.map_or(1, |r| r.saturating_add(1));
        let err = |e| db_error("CA journal", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let written = match expected_revision {
            None => {
                sqlx::query(
                    "INSERT INTO ca_journals (server_id, revision, data) VALUES ($1, $2, $3) \
                 ON CONFLICT (server_id) DO NOTHING",
                )
                .bind(server_id)
                .bind(to_i64("CA journal revision", new_revision)?)
                .bind(data)
                .execute(&mut *tx)
                .await
            }
            Some(expected) => {
                sqlx::query(
                    "UPDATE ca_journals SET revision = $2, data = $3 \
                 WHERE server_id = $1 AND revision = $4",
                )
                .bind(server_id)
                .bind(to_i64("CA journal revision", new_revision)?)
                .bind(data)
                .bind(to_i64("CA journal revision", expected)?)
                .execute(&mut *tx)
                .await
            }
        }
        .map_err(err)?;
        if written.rows_affected() != 1 {
            return Err(DatastoreError::Conflict(format!(
                "CA journal {server_id} is not at revision {expected_revision:?}"
            )));
        }
        if let Some(write) = &bundle {
            super::bundles::put(&mut tx, write).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(new_revision)
    }

    async fn list_journals(&self) -> Result<Vec<(String, JournalBlob)>, DatastoreError> {
        let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT server_id, revision, data FROM ca_journals ORDER BY server_id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("CA journal", e))?;
        rows.into_iter()
            .map(|(id, revision, data)| {
                Ok((
                    id,
                    JournalBlob {
                        revision: to_u64("CA journal revision", revision)?,
                        data,
                    },
                ))
            })
            .collect()
    }
}
