//! Agents on sled: prost-encoded `tessera.types.v1.AttestedAgent` keyed by SPIFFE ID.

use prost::Message as _;
use tessera_proto::wire::tessera::types::v1::AttestedAgent;

use super::{SledStore, storage};
use crate::datastore::{AgentStore, DatastoreError, Page};

fn decode(bytes: &[u8]) -> Result<AttestedAgent, DatastoreError> {
    AttestedAgent::decode(bytes).map_err(|e| DatastoreError::Corrupt(format!("agent: {e}")))
}

impl AgentStore for SledStore {
    async fn get_agent(&self, spiffe_id: &str) -> Result<Option<AttestedAgent>, DatastoreError> {
        self.agents
            .get(spiffe_id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn put_agent(&self, agent: &AttestedAgent) -> Result<(), DatastoreError> {
        self.agents
            .insert(agent.spiffe_id.as_bytes(), agent.encode_to_vec())
            .map_err(storage)?;
        self.flush().await
    }

    async fn delete_agent(&self, spiffe_id: &str) -> Result<bool, DatastoreError> {
        let existed = self
            .agents
            .remove(spiffe_id.as_bytes())
            .map_err(storage)?
            .is_some();
        self.flush().await?;
        Ok(existed)
    }

    async fn list_agents(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<AttestedAgent>, DatastoreError> {
        super::paging::page(&self.agents, page_token, page_size, decode)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_agent_suite_and_keeps_it_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        crate::datastore::agent_store_tests::exercise(&store).await;
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        assert_eq!(reopened.list_agents("", 100).await.unwrap().items.len(), 4);
    }
}
