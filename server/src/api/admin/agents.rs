//! `tessera.admin.v1.Agents`: list, show, ban and evict attested agents.

use tessera_proto::identity::SpiffeId;
use tessera_proto::wire::tessera::admin::v1::agents_server::Agents;
use tessera_proto::wire::tessera::admin::v1::{
    BanAgentRequest, BanAgentResponse, EvictAgentRequest, EvictAgentResponse, GetAgentRequest,
    GetAgentResponse, ListAgentsRequest, ListAgentsResponse,
};
use tessera_proto::wire::tessera::types::v1::AttestedAgent;
use tonic::{Request, Response, Status};

use crate::api::datastore_status;
use crate::datastore::AgentStore;

/// The largest page `ListAgents` returns (also the size of a page when none is asked).
pub const MAX_AGENT_PAGE: usize = 1000;

/// Operator access to the attested agents.
#[derive(Debug)]
pub struct AgentsService<S> {
    store: S,
}

impl<S> AgentsService<S> {
    /// A service over the agents in `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

fn parse_id(id: &str) -> Result<SpiffeId, Status> {
    SpiffeId::parse(id).map_err(|e| Status::invalid_argument(format!("spiffe_id: {e}")))
}

fn not_found(id: &SpiffeId) -> Status {
    Status::not_found(format!("no attested agent {id}"))
}

impl<S: AgentStore> AgentsService<S> {
    async fn load(&self, id: &SpiffeId) -> Result<AttestedAgent, Status> {
        self.store
            .get_agent(id.as_str())
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| not_found(id))
    }
}

#[tonic::async_trait]
impl<S: AgentStore> Agents for AgentsService<S> {
    async fn list_agents(
        &self,
        request: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let request = request.into_inner();
        let size = usize::try_from(request.page_size).unwrap_or(MAX_AGENT_PAGE);
        let size = if size == 0 {
            MAX_AGENT_PAGE
        } else {
            size.min(MAX_AGENT_PAGE)
        };
        let page = self
            .store
            .list_agents(&request.page_token, size)
            .await
            .map_err(datastore_status)?;
        Ok(Response::new(ListAgentsResponse {
            agents: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_agent(
        &self,
        request: Request<GetAgentRequest>,
    ) -> Result<Response<GetAgentResponse>, Status> {
        let id = parse_id(&request.into_inner().spiffe_id)?;
        let agent = self.load(&id).await?;
        Ok(Response::new(GetAgentResponse { agent: Some(agent) }))
    }

    async fn ban_agent(
        &self,
        request: Request<BanAgentRequest>,
    ) -> Result<Response<BanAgentResponse>, Status> {
        let id = parse_id(&request.into_inner().spiffe_id)?;
        let mut agent = self.load(&id).await?;
        agent.banned = true;
        self.store
            .put_agent(&agent)
            .await
            .map_err(datastore_status)?;
        tracing::info!(target: "tessera::audit", event = "agent_banned", actor = "admin_api", agent_id = %id);
        Ok(Response::new(BanAgentResponse {}))
    }

    async fn evict_agent(
        &self,
        request: Request<EvictAgentRequest>,
    ) -> Result<Response<EvictAgentResponse>, Status> {
        let id = parse_id(&request.into_inner().spiffe_id)?;
        if !self
            .store
            .delete_agent(id.as_str())
            .await
            .map_err(datastore_status)?
        {
            return Err(not_found(&id));
        }
        tracing::info!(target: "tessera::audit", event = "agent_evicted", actor = "admin_api", agent_id = %id);
        Ok(Response::new(EvictAgentResponse {}))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::datastore::memory::MemoryStore;

    async fn service_with(ids: &[&str]) -> AgentsService<MemoryStore> {
        let store = MemoryStore::default();
        for id in ids {
            store
                .put_agent(&AttestedAgent {
                    spiffe_id: (*id).into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        AgentsService::new(store)
    }

    #[tokio::test]
    async fn pages_are_capped_and_chained() {
        let ids: Vec<String> = (0..1002)
            .map(|i| format!("spiffe://e.org/a/{i:04}"))
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let svc = service_with(&refs).await;
        let page = |size: u32, token: &str| ListAgentsRequest {
            page_size: size,
            page_token: token.into(),
        };
        let first = svc
            .list_agents(Request::new(page(5000, "")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.agents.len(), 1000);
        let rest = svc
            .list_agents(Request::new(page(0, &first.next_page_token)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rest.agents.len(), 2);
        assert_eq!(rest.next_page_token, "");
    }

    #[tokio::test]
    async fn get_ban_evict() {
        let svc = service_with(&["spiffe://e.org/agent"]).await;
        let id = || "spiffe://e.org/agent".to_string();
        svc.ban_agent(Request::new(BanAgentRequest { spiffe_id: id() }))
            .await
            .unwrap();
        let got = svc
            .get_agent(Request::new(GetAgentRequest { spiffe_id: id() }))
            .await
            .unwrap()
            .into_inner();
        assert!(got.agent.unwrap().banned);
        svc.evict_agent(Request::new(EvictAgentRequest { spiffe_id: id() }))
            .await
            .unwrap();
        fn code<T>(r: Result<T, Status>) -> tonic::Code {
            r.map(drop).unwrap_err().code()
        }
        let get = svc
            .get_agent(Request::new(GetAgentRequest { spiffe_id: id() }))
            .await;
        assert_eq!(code(get), tonic::Code::NotFound);
        let evict = svc
            .evict_agent(Request::new(EvictAgentRequest { spiffe_id: id() }))
            .await;
        assert_eq!(code(evict), tonic::Code::NotFound);
        let ban = svc
            .ban_agent(Request::new(BanAgentRequest { spiffe_id: id() }))
            .await;
        assert_eq!(code(ban), tonic::Code::NotFound);
        let bad = svc
            .get_agent(Request::new(GetAgentRequest {
                spiffe_id: "not-an-id".into(),
            }))
            .await;
        assert_eq!(code(bad), tonic::Code::InvalidArgument);
    }
}
