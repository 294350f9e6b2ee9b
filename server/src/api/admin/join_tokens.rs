//! `tessera.admin.v1.JoinTokens`.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::SpiffeId;
use tessera_proto::wire::tessera::admin::v1::join_tokens_server::JoinTokens as JoinTokensApi;
use tessera_proto::wire::tessera::admin::v1::{CreateJoinTokenRequest, CreateJoinTokenResponse};
use tonic::{Request, Response, Status};

use crate::access::entry_role;
use crate::api::{attestation_status, datastore_status};
use crate::attestation::JoinTokens;
use crate::datastore::{EntryFilter, EntryStore, JoinTokenStore};

/// Creates one-time join tokens.
#[derive(Debug)]
pub struct JoinTokensService<S> {
    tokens: JoinTokens<S>,
    entries: S,
    clock: Arc<dyn Clock>,
}

impl<S> JoinTokensService<S> {
    /// A service generating tokens with `tokens`, refusing IDs of admin entries in
    /// `entries`, at times read from `clock`.
    pub fn new(tokens: JoinTokens<S>, entries: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            tokens,
            entries,
            clock,
        }
    }
}

/// `InvalidArgument` when `id` is the SPIFFE ID of an unexpired admin entry: an agent holding
/// it would be an admin on the mTLS admin API.
async fn refuse_admin_id<S: EntryStore>(
    entries: &S,
    id: &SpiffeId,
    now: i64,
) -> Result<(), Status> {
    let filter = EntryFilter {
        spiffe_id: Some(id.to_string()),
        ..EntryFilter::default()
    };
    let page = entries
        .list_entries(&filter, "", 1000)
        .await
        .map_err(datastore_status)?;
    if page
        .items
        .iter()
        .any(|e| !matches!(entry_role(e), Ok(None)) && (e.expires_at == 0 || e.expires_at > now))
    {
        return Err(Status::invalid_argument(format!(
            "agent ID {id} is the SPIFFE ID of an admin entry and is reserved"
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl<S: JoinTokenStore + EntryStore> JoinTokensApi for JoinTokensService<S> {
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
        if let Some(id) = &agent_id {
            refuse_admin_id(&self.entries, id, unix_seconds(self.clock.now())).await?;
        }
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
