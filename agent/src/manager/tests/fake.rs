//! A fake `tessera.agent.v1.Agent` server over TLS: it issues from a [`TestCa`], serves
//! entries one per page, and records the client certificate presented on `SyncEntries`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tessera_proto::clock::unix_seconds;
use tessera_proto::wire::tessera::agent::v1::agent_server::{Agent, AgentServer};
use tessera_proto::wire::tessera::agent::v1::{
    AttestRequest, AttestResponse, BatchNewX509SvidRequest, BatchNewX509SvidResponse,
    EntryRevision, GetBundlesRequest, GetBundlesResponse, NewJwtSvidRequest, NewJwtSvidResponse,
    RenewAgentRequest, RenewAgentResponse, SyncEntriesRequest, SyncEntriesResponse,
    WatchChangesRequest, WatchChangesResponse, X509SvidResult,
};
use tessera_proto::wire::tessera::types::v1::{Bundle, Entry, JwtSvid, X509Svid};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::testing::TestCa;
use crate::x509::LeafFacts;

pub const SERVER_ID: &str = "spiffe://example.org/tessera/server";
pub const TOKEN: &str = "0123456789abcdef";

/// What the fake holds and records.
pub struct FakeState {
    pub ca: TestCa,
    pub svid_ttl: Duration,
    pub entries: Mutex<Vec<Entry>>,
    pub revision: Mutex<u64>,
    pub tainted: AtomicBool,
    pub deny: AtomicBool,
    pub attests: AtomicUsize,
    pub renewals: AtomicUsize,
    pub issued: AtomicUsize,
    /// The client SPIFFE ID on each SyncEntries call (`None`: no certificate).
    pub sync_peers: Mutex<Vec<Option<String>>>,
    /// Serve `WatchChanges` (else `Unimplemented`, as a server from before push).
    pub push: AtomicBool,
    /// Each send is a signal on every open `WatchChanges` stream.
    pub signals: tokio::sync::broadcast::Sender<()>,
    /// `WatchChanges` calls.
    pub watches: AtomicUsize,
    /// `SyncEntries` pages and `BatchNewX509Svid` calls in arrival order (`sync <page
    /// index>`, `batch`).
    pub calls: Mutex<Vec<String>>,
    /// Answer the last page of a sync only once a `BatchNewX509Svid` arrived (or after
    /// 5 s): shows whether issuance starts while a sync is still paging.
    pub hold_last_page: AtomicBool,
}

impl FakeState {
    pub fn new(ca: TestCa) -> Arc<Self> {
        Arc::new(Self {
            ca,
            svid_ttl: Duration::from_secs(3600),
            entries: Mutex::new(Vec::new()),
            revision: Mutex::new(0),
            tainted: AtomicBool::new(false),
            deny: AtomicBool::new(false),
            attests: AtomicUsize::new(0),
            renewals: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            sync_peers: Mutex::new(Vec::new()),
            push: AtomicBool::new(false),
            signals: tokio::sync::broadcast::channel(16).0,
            watches: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            hold_last_page: AtomicBool::new(false),
        })
    }

    /// Adds or replaces an entry at a new revision.
    pub fn put_entry(&self, id: &str, path: &str) {
        let mut rev = self.revision.lock().unwrap();
        *rev += 1;
        let mut entries = self.entries.lock().unwrap();
        entries.retain(|e| e.id != id);
        entries.push(Entry {
            id: id.into(),
            spiffe_id: format!("spiffe://example.org/{path}"),
            revision: *rev,
            ..Entry::default()
        });
        entries.sort_by(|a, b| a.id.cmp(&b.id));
    }

    pub fn remove_entry(&self, id: &str) {
        *self.revision.lock().unwrap() += 1;
        self.entries.lock().unwrap().retain(|e| e.id != id);
    }

    fn bundle(&self) -> Bundle {
        let mut b = self.ca.bundle();
        b.x509_authorities[0].tainted = self.tainted.load(Ordering::SeqCst);
        b
    }

    fn issue(&self, csr: &[u8], id: &str) -> X509Svid {
        let now = SystemTime::now();
        let expires = now + self.svid_ttl;
        let cert = self
            .ca
            .issue_for_csr(csr, id, now - Duration::from_secs(10), expires);
        X509Svid {
            spiffe_id: id.into(),
            cert_chain: vec![cert],
            expires_at: unix_seconds(expires),
        }
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<String, Status> {
        if self.deny.load(Ordering::SeqCst) {
            return Err(Status::permission_denied("agent is banned"));
        }
        let certs = request
            .peer_certs()
            .ok_or_else(|| Status::permission_denied("no client certificate"))?;
        let leaf = certs
            .first()
            .ok_or_else(|| Status::permission_denied("no client certificate"))?;
        let facts = LeafFacts::parse(leaf).map_err(|e| Status::permission_denied(e.to_string()))?;
        Ok(facts.spiffe_id().unwrap().to_owned())
    }
}

struct FakeAgent(Arc<FakeState>);

#[tonic::async_trait]
impl Agent for FakeAgent {
    type WatchChangesStream =
        tokio_stream::wrappers::ReceiverStream<Result<WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        self.0.caller(&request)?;
        self.0.watches.fetch_add(1, Ordering::SeqCst);
        if !self.0.push.load(Ordering::SeqCst) {
            return Err(Status::unimplemented("no push here"));
        }
        let mut signals = self.0.signals.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            let signal = || {
                Ok(WatchChangesResponse {
                    entries_revision: 0,
                    entries: true,
                    bundles: true,
                })
            };
            let _ = tx.send(signal()).await;
            while signals.recv().await.is_ok() {
                if tx.send(signal()).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn attest(
        &self,
        request: Request<AttestRequest>,
    ) -> Result<Response<AttestResponse>, Status> {
        assert!(
            request.peer_certs().is_none_or(|c| c.is_empty()),
            "Attest runs without a client certificate"
        );
        let req = request.into_inner();
        let data = req
            .data
            .ok_or_else(|| Status::invalid_argument("no data"))?;
        let id = match data.r#type.as_str() {
            "join_token" if data.payload == TOKEN.as_bytes() => {
                format!("spiffe://example.org/tessera/agent/join_token/{TOKEN}")
            }
            "k8s_psat" => {
                let v: serde_json::Value = serde_json::from_slice(&data.payload)
                    .map_err(|_| Status::invalid_argument("bad payload"))?;
                if v["token"] != "header.claims.signature" {
                    return Err(Status::permission_denied("bad SA token"));
                }
                let cluster = v["cluster"].as_str().unwrap_or_default().to_owned();
                format!("spiffe://example.org/tessera/agent/k8s_psat/{cluster}/node-1")
            }
            _ => {
                return Err(Status::permission_denied(
                    "join token unknown, used or expired",
                ));
            }
        };
        self.0.attests.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(AttestResponse {
            svid: Some(self.0.issue(&req.csr, &id)),
            bundle: Some(self.0.bundle()),
            reattestable: false,
        }))
    }

    async fn renew_agent(
        &self,
        request: Request<RenewAgentRequest>,
    ) -> Result<Response<RenewAgentResponse>, Status> {
        let id = self.0.caller(&request)?;
        self.0.renewals.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(RenewAgentResponse {
            svid: Some(self.0.issue(&request.get_ref().csr, &id)),
        }))
    }

    async fn sync_entries(
        &self,
        request: Request<SyncEntriesRequest>,
    ) -> Result<Response<SyncEntriesResponse>, Status> {
        let caller = self.0.caller(&request);
        self.0.sync_peers.lock().unwrap().push(caller.clone().ok());
        caller?;
        let req = request.into_inner();
        let index: usize = if req.page_token.is_empty() {
            0
        } else {
            req.page_token.parse().unwrap()
        };
        let entries = self.0.entries.lock().unwrap().clone();
        let revision = *self.0.revision.lock().unwrap();
        if index > 0 && index + 1 == entries.len() && self.0.hold_last_page.load(Ordering::SeqCst) {
            let batched = || self.0.calls.lock().unwrap().iter().any(|c| c == "batch");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while !batched() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        self.0.calls.lock().unwrap().push(format!("sync {index}"));
        let page: Vec<Entry> = entries.iter().skip(index).take(1).cloned().collect();
        let next = if index + 1 < entries.len() {
            (index + 1).to_string()
        } else {
            String::new()
        };
        Ok(Response::new(SyncEntriesResponse {
            authorized: page
                .iter()
                .map(|e| EntryRevision {
                    id: e.id.clone(),
                    revision: e.revision,
                })
                .collect(),
            entries: page
                .into_iter()
                .filter(|e| e.revision > req.since_revision)
                .collect(),
            revision,
            next_page_token: next,
        }))
    }

    async fn batch_new_x509_svid(
        &self,
        request: Request<BatchNewX509SvidRequest>,
    ) -> Result<Response<BatchNewX509SvidResponse>, Status> {
        self.0.caller(&request)?;
        self.0.calls.lock().unwrap().push("batch".into());
        let entries = self.0.entries.lock().unwrap().clone();
        let results = request
            .into_inner()
            .params
            .into_iter()
            .map(|p| match entries.iter().find(|e| e.id == p.entry_id) {
                Some(e) => {
                    self.0.issued.fetch_add(1, Ordering::SeqCst);
                    X509SvidResult {
                        entry_id: p.entry_id,
                        svid: Some(self.0.issue(&p.csr, &e.spiffe_id)),
                        code: 0,
                        message: String::new(),
                    }
                }
                None => X509SvidResult {
                    entry_id: p.entry_id,
                    svid: None,
                    code: 7,
                    message: "not authorized".into(),
                },
            })
            .collect();
        Ok(Response::new(BatchNewX509SvidResponse { results }))
    }

    async fn new_jwt_svid(
        &self,
        request: Request<NewJwtSvidRequest>,
    ) -> Result<Response<NewJwtSvidResponse>, Status> {
        self.0.caller(&request)?;
        let req = request.into_inner();
        Ok(Response::new(NewJwtSvidResponse {
            svid: Some(JwtSvid {
                spiffe_id: req.entry_id,
                token: req.audience.join(","),
                issued_at: 1,
                expires_at: 2,
            }),
        }))
    }

    async fn get_bundles(
        &self,
        request: Request<GetBundlesRequest>,
    ) -> Result<Response<GetBundlesResponse>, Status> {
        self.0.caller(&request)?;
        Ok(Response::new(GetBundlesResponse {
            bundle: Some(self.0.bundle()),
            federated_bundles: vec![],
        }))
    }
}

/// A running fake; dropping it stops the server.
pub struct FakeServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves `state` with a certificate from `server_ca` naming `server_id`; client
/// certificates (optional) must chain to `state.ca`.
pub async fn serve(state: Arc<FakeState>, server_ca: &TestCa, server_id: &str) -> FakeServer {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (key, cert) = server_ca.key_and_cert(server_id, SystemTime::now());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(state.ca.cert_der.clone()))
        .unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let stop = CancellationToken::new();
    let accept_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                () = accept_stop.cancelled() => return,
                conn = listener.accept() => conn.unwrap(),
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                // A handshake the agent aborts (untrusted server) is simply dropped.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = tx.send(Ok::<_, std::io::Error>(tls)).await;
                }
            });
        }
    });
    let serve_stop = stop.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(AgentServer::new(FakeAgent(state)))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::ReceiverStream::new(rx),
                serve_stop.cancelled_owned(),
            )
            .await
            .unwrap();
    });
    FakeServer { addr, stop }
}
