//! One function per agent API RPC.

use tessera_proto::wire::tessera::agent::v1::agent_client::AgentClient;
use tessera_proto::wire::tessera::agent::v1::{
    AttestRequest, AttestResponse, AttestationData, BatchNewX509SvidRequest, GetBundlesRequest,
    GetBundlesResponse, NewJwtSvidRequest, NewX509SvidParams, RenewAgentRequest,
    SyncEntriesRequest, SyncEntriesResponse, WatchChangesRequest, WatchChangesResponse,
    X509SvidResult,
};
use tessera_proto::wire::tessera::types::v1::{JwtSvid, X509Svid};
use tokio::sync::watch;
use tonic::transport::Channel;

use super::ClientError;

/// The most params one `BatchNewX509Svid` call carries.
pub const BATCH_LIMIT: usize = 1000;
/// Entries asked per `SyncEntries` page.
const PAGE_SIZE: u32 = 500;
/// A sync with more pages than this is refused (a server bug would loop forever).
const MAX_PAGES: usize = 100_000;

/// `Attest` (server-authenticated TLS, no client certificate).
pub async fn attest(
    channel: Channel,
    data: AttestationData,
    csr: Vec<u8>,
) -> Result<AttestResponse, ClientError> {
    let reply = AgentClient::new(channel)
        .attest(AttestRequest {
            data: Some(data),
            csr,
        })
        .await?
        .into_inner();
    Ok(reply)
}

/// `RenewAgent`: a new agent SVID for the CSR's key.
pub async fn renew_agent(channel: Channel, csr: Vec<u8>) -> Result<X509Svid, ClientError> {
    AgentClient::new(channel)
        .renew_agent(RenewAgentRequest { csr })
        .await?
        .into_inner()
        .svid
        .ok_or_else(|| ClientError::InvalidResponse("RenewAgent returned no SVID".into()))
}

/// `SyncEntries`, every page from `since_revision` until the page token is empty.
pub async fn sync_entries(
    channel: Channel,
    since_revision: u64,
) -> Result<Vec<SyncEntriesResponse>, ClientError> {
    sync_entries_with(channel, since_revision, |_| {}).await
}

/// [`sync_entries`], showing each page to `on_page` as it arrives (before the next is
/// asked for), so work can start while the rest is in transit.
pub async fn sync_entries_with(
    channel: Channel,
    since_revision: u64,
    mut on_page: impl FnMut(&SyncEntriesResponse),
) -> Result<Vec<SyncEntriesResponse>, ClientError> {
    let mut client = AgentClient::new(channel);
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .sync_entries(SyncEntriesRequest {
                since_revision,
                page_token: page_token.clone(),
                page_size: PAGE_SIZE,
            })
            .await?
            .into_inner();
        on_page(&page);
        let next = page.next_page_token.clone();
        pages.push(page);
        if next.is_empty() {
            return Ok(pages);
        }
        if next == page_token || pages.len() >= MAX_PAGES {
            return Err(ClientError::InvalidResponse(
                "SyncEntries paging does not terminate".into(),
            ));
        }
        page_token = next;
    }
}

/// `BatchNewX509Svid`, split into calls of at most [`BATCH_LIMIT`] params.
pub async fn batch_new_x509_svids(
    channel: Channel,
    params: Vec<NewX509SvidParams>,
) -> Result<Vec<X509SvidResult>, ClientError> {
    let mut client = AgentClient::new(channel);
    let mut results = Vec::with_capacity(params.len());
    for chunk in params.chunks(BATCH_LIMIT) {
        let reply = client
            .batch_new_x509_svid(BatchNewX509SvidRequest {
                params: chunk.to_vec(),
            })
            .await?
            .into_inner();
        results.extend(reply.results);
    }
    Ok(results)
}

/// `NewJwtSvid` for an entry and audience.
pub async fn new_jwt_svid(
    channel: Channel,
    entry_id: String,
    audience: Vec<String>,
) -> Result<JwtSvid, ClientError> {
    AgentClient::new(channel)
        .new_jwt_svid(NewJwtSvidRequest { entry_id, audience })
        .await?
        .into_inner()
        .svid
        .ok_or_else(|| ClientError::InvalidResponse("NewJwtSvid returned no SVID".into()))
}

/// `GetBundles`.
pub async fn get_bundles(channel: Channel) -> Result<GetBundlesResponse, ClientError> {
    Ok(AgentClient::new(channel)
        .get_bundles(GetBundlesRequest {})
        .await?
        .into_inner())
}

/// `WatchChanges`: the server's change signals; `Ok(None)` when it does not push
/// (`Unimplemented`: push disabled, or a server from before push).
pub async fn watch_changes(
    channel: Channel,
) -> Result<Option<tonic::Streaming<WatchChangesResponse>>, ClientError> {
    match AgentClient::new(channel)
        .watch_changes(WatchChangesRequest {})
        .await
    {
        Ok(stream) => Ok(Some(stream.into_inner())),
        Err(status) if status.code() == tonic::Code::Unimplemented => Ok(None),
        Err(status) => Err(status.into()),
    }
}

/// A cloneable handle on the manager's current mTLS connection, for callers outside the
/// sync loop (the Workload API's JWT-SVID requests).
#[derive(Debug, Clone)]
pub struct AgentApi {
    channel: watch::Receiver<Option<Channel>>,
}

impl AgentApi {
    /// A handle following `channel`.
    pub fn new(channel: watch::Receiver<Option<Channel>>) -> Self {
        Self { channel }
    }

    /// A new JWT-SVID for `entry_id` and `audience` (no caching).
    pub async fn new_jwt_svid(
        &self,
        entry_id: &str,
        audience: Vec<String>,
    ) -> Result<JwtSvid, ClientError> {
        let channel = self.channel.borrow().clone().ok_or_else(|| {
            ClientError::Unavailable("the agent is not connected to the server yet".into())
        })?;
        new_jwt_svid(channel, entry_id.to_owned(), audience).await
    }
}
