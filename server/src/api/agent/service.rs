//! `tessera.agent.v1.Agent`: attestation, agent SVID renewal, entry sync, SVID issuance.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::agent::v1::agent_server::Agent;
use tessera_proto::wire::tessera::agent::v1::{
    AttestRequest, AttestResponse, BatchNewX509SvidRequest, BatchNewX509SvidResponse,
    GetBundlesRequest, GetBundlesResponse, NewJwtSvidRequest, NewJwtSvidResponse,
    RenewAgentRequest, RenewAgentResponse, SyncEntriesRequest, SyncEntriesResponse,
    WatchChangesRequest, WatchChangesResponse,
};
use tessera_proto::wire::tessera::types::v1::{
    AttestedAgent, Entry, JwtSvid, Selector as WireSelector,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

use super::authorized_cache::{AuthorizedCache, CacheKey};
use super::caller::{authenticate, svid_identity};
use super::issue::{BatchContext, issue_batch, ttl, wire_svid};
use super::limits::{AgentApiLimits, AttestRate};
use super::push::{Push, Watcher};
use super::{csr, sync};
use crate::api::{attestation_status, ca_status, datastore_status};
use crate::attestation::NodeAttestors;
use crate::ca::{CaManager, IssuedX509Svid, X509SvidRequest};
use crate::datastore::Datastore;
use crate::metrics::{
    AttestationResult, NodeAttestationMetrics, NodeAttestorLabel, SvidKind, SvidMetrics,
};
use crate::registration::{authorized_entries, server_id};

/// Most CSRs in one `BatchNewX509Svid`.
pub const MAX_BATCH: usize = 1000;

/// The agent API over the CA, the datastore and the node attestors.
pub struct AgentService<S> {
    ca: Arc<CaManager<S>>,
    store: S,
    attestors: Arc<NodeAttestors<S>>,
    clock: Arc<dyn Clock>,
    agent_ttl: Duration,
    trust_domain: TrustDomain,
    server_id: SpiffeId,
    attest_rate: Arc<AttestRate>,
    svid_metrics: SvidMetrics,
    attestation_metrics: NodeAttestationMetrics,
    /// `None`: push is off, `WatchChanges` is `Unimplemented` (agents poll).
    push: Option<Push>,
    authorized_cache: Arc<AuthorizedCache>,
}

impl<S> std::fmt::Debug for AgentService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentService")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

impl<S: Datastore + Clone> AgentService<S> {
    /// An agent API service.
    pub fn new(
        ca: Arc<CaManager<S>>,
        store: S,
        attestors: Arc<NodeAttestors<S>>,
        clock: Arc<dyn Clock>,
        agent_ttl: Duration,
    ) -> Self {
        let trust_domain = ca.config().trust_domain.clone();
        let server_id = server_id(&trust_domain);
        Self {
            ca,
            store,
            attestors,
            clock,
            agent_ttl,
            trust_domain,
            server_id,
            attest_rate: Arc::new(AttestRate::new(AgentApiLimits::default().attest_per_second)),
            svid_metrics: SvidMetrics::default(),
            attestation_metrics: NodeAttestationMetrics::default(),
            push: None,
            authorized_cache: Arc::new(AuthorizedCache::default()),
        }
    }

    /// Serves `WatchChanges` from `push` (without it, agents are told `Unimplemented` and
    /// rely on their periodic sync).
    pub fn with_push(mut self, push: Push) -> Self {
        self.push = Some(push);
        self
    }

    /// Records SVIDs signed in `svids` and node attestations in `attestations`.
    pub fn with_metrics(
        mut self,
        svids: SvidMetrics,
        attestations: NodeAttestationMetrics,
    ) -> Self {
        self.svid_metrics = svids;
        self.attestation_metrics = attestations;
        self
    }

    /// At most `per_second` node attestations per second (0: unlimited), after a burst of
    /// twice as many; beyond, `Attest` is `ResourceExhausted`.
    pub fn with_attest_rate(mut self, per_second: u32) -> Self {
        self.attest_rate = Arc::new(AttestRate::new(per_second));
        self
    }

    fn sign_agent_svid(
        &self,
        id: &SpiffeId,
        csr_der: &[u8],
        now: SystemTime,
    ) -> Result<IssuedX509Svid, Status> {
        let public_key = csr::public_key(csr_der)?;
        let snapshot = self.ca.snapshot();
        self.svid_metrics
            .time(SvidKind::X509, || {
                snapshot.sign_x509_svid(
                    now,
                    &X509SvidRequest {
                        spiffe_id: id.clone(),
                        public_key,
                        dns_names: Vec::new(),
                        ip_addresses: Vec::new(),
                        ttl: Some(self.agent_ttl),
                    },
                )
            })
            .map_err(ca_status)
    }

    /// `Attest`, recorded by the caller.
    async fn attest_node(
        &self,
        request: Request<AttestRequest>,
    ) -> Result<Response<AttestResponse>, Status> {
        let peer = request
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        let now = self.clock.now();
        let req = request.into_inner();
        let data = req
            .data
            .ok_or_else(|| Status::invalid_argument("attestation data is required"))?;
        // Check the CSR first: a bad request must not consume a one-time join token.
        csr::public_key(&req.csr)?;
        if !self.attest_rate.try_take(now) {
            tracing::warn!(target: "tessera::audit", event = "node_attestation", outcome = "refused", reason = "rate limited", peer);
            return Err(Status::resource_exhausted(
                "too many node attestations right now; retry later",
            ));
        }
        let attested = self
            .attestors
            .attest(&data.r#type, &data.payload, now, &peer)
            .await
            .map_err(attestation_status)?;
        let id = attested.agent_id;
        if let Some(existing) = self
            .store
            .get_agent(id.as_str())
            .await
            .map_err(datastore_status)?
        {
            if existing.banned {
                tracing::warn!(target: "tessera::audit", event = "node_attestation", agent_id = %id, outcome = "refused", reason = "agent is banned", peer);
                return Err(Status::permission_denied(format!("agent {id} is banned")));
            }
            if !attested.can_reattest {
                return Err(Status::already_exists(format!(
                    "agent {id} is already attested; evict it first to attest again"
                )));
            }
        }
        let svid = self.sign_agent_svid(&id, &req.csr, now)?;
        let serial = svid_identity(&svid.chain[0])
            .map(|(_, s)| s)
            .unwrap_or_default();
        let agent = AttestedAgent {
            spiffe_id: id.to_string(),
            attestation_type: attested.attestor.to_string(),
            selectors: attested
                .selectors
                .iter()
                .map(|s| WireSelector {
                    r#type: s.kind().to_string(),
                    value: s.value().to_string(),
                })
                .collect(),
            x509_svid_serial: serial,
            x509_svid_expires_at: unix_seconds(svid.expires_at),
            banned: false,
            can_reattest: attested.can_reattest,
            previous_x509_svid_serial: String::new(),
            created_at: unix_seconds(now),
        };
        self.store
            .put_agent(&agent)
            .await
            .map_err(datastore_status)?;
        tracing::info!(agent_id = %id, "agent attested");
        Ok(Response::new(AttestResponse {
            svid: Some(wire_svid(&id, svid)),
            bundle: Some(self.ca.snapshot().bundle().clone()),
            reattestable: attested.can_reattest,
        }))
    }

    /// The entries `agent` is authorized for at `now`, sorted by ID.
    async fn authorized(
        &self,
        agent: &AttestedAgent,
        now: SystemTime,
    ) -> Result<Arc<Vec<Entry>>, Status> {
        let revision = self
            .store
            .entries_revision()
            .await
            .map_err(datastore_status)?;
        self.authorized_at(agent, revision, now).await
    }

    /// [`Self::authorized`] with the entries `revision` read before: the walk again only
    /// when the cached set for the agent is not exact at that revision and `now`.
    async fn authorized_at(
        &self,
        agent: &AttestedAgent,
        revision: u64,
        now: SystemTime,
    ) -> Result<Arc<Vec<Entry>>, Status> {
        let key = CacheKey {
            agent_id: agent.spiffe_id.clone(),
            selectors: agent
                .selectors
                .iter()
                .map(|s| (s.r#type.clone(), s.value.clone()))
                .collect(),
        };
        if let Some(hit) = self.authorized_cache.get(&key, revision, unix_seconds(now)) {
            return Ok(hit);
        }
        let agent_id: SpiffeId = agent
            .spiffe_id
            .parse()
            .map_err(|_| Status::internal("stored agent ID does not parse"))?;
        let selectors: Vec<_> = agent
            .selectors
            .iter()
            .filter_map(|s| tessera_proto::identity::Selector::new(&s.r#type, &s.value).ok())
            .collect();
        let entries = authorized_entries(&self.store, &agent_id, &selectors, &self.server_id, now)
            .await
            .map_err(datastore_status)?;
        Ok(self.authorized_cache.put(key, revision, entries))
    }
}

#[tonic::async_trait]
impl<S: Datastore + Clone> Agent for AgentService<S> {
    type WatchChangesStream = ReceiverStream<Result<WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let Some(push) = &self.push else {
            return Err(Status::unimplemented(
                "push is disabled on this server: sync periodically",
            ));
        };
        let agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let agent_id: SpiffeId = agent
            .spiffe_id
            .parse()
            .map_err(|_| Status::internal("stored agent ID does not parse"))?;
        let (signals, stream) = tokio::sync::mpsc::channel(super::push::SIGNAL_BUFFER);
        let watcher = Watcher {
            store: self.store.clone(),
            agent_id,
            server_id: self.server_id.clone(),
            clock: self.clock.clone(),
            // Before the watcher reads the agent's interest: no change falls in between.
            changes: push.hub.subscribe(),
            ca: self.ca.subscribe(),
            signals,
            shutdown: push.shutdown.clone(),
        };
        tokio::spawn(watcher.run());
        Ok(Response::new(ReceiverStream::new(stream)))
    }

    async fn attest(
        &self,
        request: Request<AttestRequest>,
    ) -> Result<Response<AttestResponse>, Status> {
        let attestor = NodeAttestorLabel::of(
            request
                .get_ref()
                .data
                .as_ref()
                .map(|d| d.r#type.as_str())
                .unwrap_or_default(),
        );
        let result = self.attest_node(request).await;
        let outcome = match &result {
            Ok(_) => AttestationResult::Ok,
            Err(status) => match status.code() {
                Code::ResourceExhausted => AttestationResult::RateLimited,
                Code::Internal | Code::Unavailable | Code::Unknown => AttestationResult::Error,
                _ => AttestationResult::Denied,
            },
        };
        self.attestation_metrics.record(attestor, outcome);
        result
    }

    async fn renew_agent(
        &self,
        request: Request<RenewAgentRequest>,
    ) -> Result<Response<RenewAgentResponse>, Status> {
        let mut agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let now = self.clock.now();
        let id: SpiffeId = agent
            .spiffe_id
            .parse()
            .map_err(|_| Status::internal("stored agent ID does not parse"))?;
        let svid = self.sign_agent_svid(&id, &request.get_ref().csr, now)?;
        let serial = svid_identity(&svid.chain[0])
            .map(|(_, s)| s)
            .unwrap_or_default();
        agent.previous_x509_svid_serial = std::mem::replace(&mut agent.x509_svid_serial, serial);
        agent.x509_svid_expires_at = unix_seconds(svid.expires_at);
        self.store
            .put_agent(&agent)
            .await
            .map_err(datastore_status)?;
        Ok(Response::new(RenewAgentResponse {
            svid: Some(wire_svid(&id, svid)),
        }))
    }

    async fn sync_entries(
        &self,
        request: Request<SyncEntriesRequest>,
    ) -> Result<Response<SyncEntriesResponse>, Status> {
        let agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let revision = self
            .store
            .entries_revision()
            .await
            .map_err(datastore_status)?;
        let entries = self
            .authorized_at(&agent, revision, self.clock.now())
            .await?;
        let r = request.get_ref();
        Ok(Response::new(sync::page(
            &entries,
            r.since_revision,
            &r.page_token,
            r.page_size,
            revision,
        )))
    }

    async fn batch_new_x509_svid(
        &self,
        request: Request<BatchNewX509SvidRequest>,
    ) -> Result<Response<BatchNewX509SvidResponse>, Status> {
        let agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let params = request.into_inner().params;
        if params.len() > MAX_BATCH {
            return Err(Status::invalid_argument(format!(
                "{} CSRs in one batch; at most {MAX_BATCH}",
                params.len()
            )));
        }
        let now = self.clock.now();
        let authorized = self.authorized(&agent, now).await?;
        let context = BatchContext {
            snapshot: self.ca.snapshot(),
            authorized,
            metrics: self.svid_metrics.clone(),
            now,
        };
        let results = issue_batch(context, params).await?;
        Ok(Response::new(BatchNewX509SvidResponse { results }))
    }

    async fn new_jwt_svid(
        &self,
        request: Request<NewJwtSvidRequest>,
    ) -> Result<Response<NewJwtSvidResponse>, Status> {
        let agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let now = self.clock.now();
        let r = request.get_ref();
        let entry = self
            .authorized(&agent, now)
            .await?
            .iter()
            .find(|e| e.id == r.entry_id)
            .cloned()
            .ok_or_else(|| {
                Status::permission_denied(format!(
                    "entry {:?} is not authorized for this agent",
                    r.entry_id
                ))
            })?;
        let id: SpiffeId = entry
            .spiffe_id
            .parse()
            .map_err(|_| Status::internal("stored entry ID does not parse"))?;
        let snapshot = self.ca.snapshot();
        let jwt = self
            .svid_metrics
            .time(SvidKind::Jwt, || {
                snapshot.sign_jwt_svid(now, &id, &r.audience, ttl(entry.jwt_svid_ttl))
            })
            .map_err(ca_status)?;
        Ok(Response::new(NewJwtSvidResponse {
            svid: Some(JwtSvid {
                spiffe_id: id.to_string(),
                token: jwt.token,
                issued_at: unix_seconds(jwt.issued_at),
                expires_at: unix_seconds(jwt.expires_at),
            }),
        }))
    }

    async fn get_bundles(
        &self,
        request: Request<GetBundlesRequest>,
    ) -> Result<Response<GetBundlesResponse>, Status> {
        let agent = authenticate(&request, &self.store, &self.trust_domain).await?;
        let entries = self.authorized(&agent, self.clock.now()).await?;
        let wanted: std::collections::BTreeSet<&str> = entries
            .iter()
            .flat_map(|e| e.federates_with.iter().map(String::as_str))
            .collect();
        let mut federated_bundles = Vec::new();
        for td in wanted {
            if let Some(b) = self.store.get_bundle(td).await.map_err(datastore_status)? {
                federated_bundles.push(b);
            }
        }
        Ok(Response::new(GetBundlesResponse {
            bundle: Some(self.ca.snapshot().bundle().clone()),
            federated_bundles,
        }))
    }
}
