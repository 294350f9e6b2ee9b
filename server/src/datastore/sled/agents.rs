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

    fn agent(id: &str) -> AttestedAgent {
        AttestedAgent {
            spiffe_id: id.into(),
            attestation_type: "join_token".into(),
            created_at: 7,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn put_get_delete_and_page() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.get_agent("spiffe://e.org/a").await.unwrap().is_none());
        for id in ["c", "a", "b", "d", "e"] {
            store
                .put_agent(&agent(&format!("spiffe://e.org/{id}")))
                .await
                .unwrap();
        }
        let mut banned = agent("spiffe://e.org/a");
        banned.banned = true;
        store.put_agent(&banned).await.unwrap();
        assert_eq!(
            store.get_agent("spiffe://e.org/a").await.unwrap(),
            Some(banned)
        );

        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = store.list_agents(&token, 2).await.unwrap();
            assert!(page.items.len() <= 2);
            seen.extend(page.items.into_iter().map(|a| a.spiffe_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let expected: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| format!("spiffe://e.org/{id}"))
            .collect();
        assert_eq!(seen, expected);
        let all = store.list_agents("", 5).await.unwrap();
        assert_eq!(all.items.len(), 5);
        assert_eq!(all.next_page_token, "", "an exact fit has no next page");

        assert!(store.delete_agent("spiffe://e.org/c").await.unwrap());
        assert!(!store.delete_agent("spiffe://e.org/c").await.unwrap());
        assert_eq!(store.list_agents("", 100).await.unwrap().items.len(), 4);
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        assert_eq!(reopened.list_agents("", 100).await.unwrap().items.len(), 4);
    }
}
