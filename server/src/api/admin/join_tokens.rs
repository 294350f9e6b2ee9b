//! `tessera.admin.v1.JoinTokens`.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::Clock;
use tessera_proto::identity::SpiffeId;
use tessera_proto::wire::tessera::admin::v1::join_tokens_server::JoinTokens as JoinTokensApi;
use tessera_proto::wire::tessera::admin::v1::{CreateJoinTokenRequest, CreateJoinTokenResponse};
use tonic::{Request, Response, Status};

use crate::api::attestation_status;
use crate::attestation::JoinTokens;
use crate::datastore::JoinTokenStore;

/// Creates one-time join tokens.
#[derive(Debug)]
pub struct JoinTokensService<S> {
    tokens: JoinTokens<S>,
    clock: Arc<dyn Clock>,
}

impl<S> JoinTokensService<S> {
    /// A service generating tokens with `tokens`, at times read from `clock`.
    pub fn new(tokens: JoinTokens<S>, clock: Arc<dyn Clock>) -> Self {
        Self { tokens, clock }
    }
}

#[tonic::async_trait]
impl<S: JoinTokenStore> JoinTokensApi for JoinTokensService<S> {
    async fn create_join_token(
        &self,
        request: Request<CreateJoinTokenRequest>,
    ) -> Result<Response<CreateJoinTokenResponse>, Status> {
        let request = request.into_inner();
        let ttl = u64::try_from(request.ttl)
            .map_err(|_| Status::invalid_argument("ttl must not be negative"))?;
        let agent_id = match request.agent_id.as_str() {
            "" => None,
            id => Some(
                SpiffeId::parse(id)
                    .map_err(|e| Status::invalid_argument(format!("agent_id: {e}")))?,
            ),
        };
        let bound = agent_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let (token, expires_at) = self
            .tokens
            .generate(Some(Duration::from_secs(ttl)), agent_id, self.clock.now())
            .await
            .map_err(attestation_status)?;
        tracing::info!(
            target: "tessera::audit",
            event = "join_token_created",
            agent_id = %bound,
            expires_at,
        );
        Ok(Response::new(CreateJoinTokenResponse { token, expires_at }))
    }
}
