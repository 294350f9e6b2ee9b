//! Attested agents: prost `AttestedAgent` keyed by SPIFFE ID.

use prost::Message as _;
use tessera_proto::wire::tessera::types::v1::AttestedAgent;

use super::PgStore;
use super::errors::{db_error, from_proto, has_nul, limit, nul_key, page_of};
use crate::datastore::{AgentStore, DatastoreError, Page};

impl AgentStore for PgStore {
    async fn get_agent(&self, spiffe_id: &str) -> Result<Option<AttestedAgent>, DatastoreError> {
        if has_nul(&[spiffe_id]) {
            return Ok(None);
        }
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM agents WHERE spiffe_id = $1")
                .bind(spiffe_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("agent", e))?;
        row.map(|(data,)| from_proto("agent", &data)).transpose()
    }

    async fn put_agent(&self, agent: &AttestedAgent) -> Result<(), DatastoreError> {
        if has_nul(&[&agent.spiffe_id]) {
            return Err(nul_key("agent"));
        }
        sqlx::query(
            "INSERT INTO agents (spiffe_id, data) VALUES ($1, $2) \
             ON CONFLICT (spiffe_id) DO UPDATE SET data = EXCLUDED.data",
        )
        .bind(&agent.spiffe_id)
        .bind(agent.encode_to_vec())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("agent", e))?;
        Ok(())
    }

    async fn delete_agent(&self, spiffe_id: &str) -> Result<bool, DatastoreError> {
        if has_nul(&[spiffe_id]) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM agents WHERE spiffe_id = $1")
            .bind(spiffe_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("agent", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_agents(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<AttestedAgent>, DatastoreError> {
        if has_nul(&[page_token]) {
            return Ok(Page::default());
        }
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT spiffe_id, data FROM agents WHERE spiffe_id > $1 ORDER BY spiffe_id LIMIT $2",
        )
        .bind(page_token)
        .bind(limit(page_size))
        .fetch_all(&self.stale_reads)
        .await
        .map_err(|e| db_error("agents", e))?;
        let rows = rows
            .into_iter()
            .map(|(id, data)| from_proto("agent", &data).map(|a| (id, a)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(rows, page_size.max(1)))
    }
}
