//! Fakes (attestor, minter, clock), state builders, a server on a temp socket and a client.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hyper_util::rt::TokioIo;
use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::identity::Selector;
use tessera_proto::wire::tessera::types::v1::{
    Bundle, Entry, JwtAuthority, JwtSvid, Selector as WireSelector,
};
use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
use tokio::net::UnixStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::attestor::workload::{Caller, WorkloadAttestError};
use crate::client::ClientError;
use crate::config::WorkloadApiSection;
use crate::manager::{AgentState, CachedEntry};
use crate::testing::TestCa;
use crate::workload_api::{CallerSelectors, JwtMinter, ServeError, WorkloadApi, WorkloadEndpoint};

pub const TD: &str = "example.org";
pub const WORKLOAD_SELECTOR: &str = "unix:uid:1000";

/// Selectors handed out for every caller; `None` = attestation unavailable.
#[derive(Debug, Clone, Default)]
pub struct FakeAttestor {
    pub selectors: Arc<Mutex<Option<Vec<Selector>>>>,
    pub callers: Arc<Mutex<Vec<Caller>>>,
    /// Set: the pinned process is gone (`still_there` fails).
    pub gone: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeAttestor {
    pub fn with(selectors: &[&str]) -> Self {
        let a = Self::default();
        a.set(selectors);
        a
    }

    pub fn set(&self, selectors: &[&str]) {
        *self.selectors.lock().unwrap() = Some(
            selectors
                .iter()
                .map(|s| Selector::parse(s).unwrap())
                .collect(),
        );
    }

    pub fn fail(&self) {
        *self.selectors.lock().unwrap() = None;
    }
}

impl CallerSelectors for FakeAttestor {
    async fn selectors(&self, caller: Caller) -> Result<Vec<Selector>, WorkloadAttestError> {
        self.callers.lock().unwrap().push(caller);
        self.selectors
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| WorkloadAttestError::Unavailable("kubelet down".into()))
    }

    fn still_there(&self, _caller: Caller) -> Result<(), WorkloadAttestError> {
        if self.gone.load(std::sync::atomic::Ordering::SeqCst) {
            Err(WorkloadAttestError::ProcessChanged)
        } else {
            Ok(())
        }
    }
}

/// Mints `jwt-<entry>-<n>` tokens living 300 s from the shared clock.
#[derive(Debug, Clone)]
pub struct FakeMinter {
    pub calls: Arc<AtomicUsize>,
    pub clock: Arc<ManualClock>,
}

impl JwtMinter for FakeMinter {
    async fn mint_jwt_svid(
        &self,
        entry_id: &str,
        audience: Vec<String>,
    ) -> Result<JwtSvid, ClientError> {
        assert!(!audience.is_empty());
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let now = unix_seconds(self.clock.now());
        Ok(JwtSvid {
            spiffe_id: String::new(),
            token: format!("jwt-{entry_id}-{n}"),
            issued_at: now,
            expires_at: now + 300,
        })
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn new(t: SystemTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// An entry `id` for `spiffe://example.org/<path>` needing `selectors`.
pub fn entry(id: &str, path: &str, selectors: &[&str], created_at: i64) -> Entry {
    Entry {
        id: id.into(),
        spiffe_id: format!("spiffe://{TD}/{path}"),
        parent_id: format!("spiffe://{TD}/agent"),
        selectors: selectors
            .iter()
            .map(|s| {
                let (t, v) = s.split_once(':').unwrap();
                WireSelector {
                    r#type: t.into(),
                    value: v.into(),
                }
            })
            .collect(),
        hint: format!("hint-{id}"),
        created_at,
        ..Entry::default()
    }
}

/// A cached entry with a fresh SVID from `ca`.
pub fn cached(ca: &TestCa, entry: Entry, now: SystemTime) -> CachedEntry {
    let svid = ca.svid(
        &entry.spiffe_id,
        now - Duration::from_secs(60),
        now + Duration::from_secs(3600),
    );
    CachedEntry {
        entry: Arc::new(entry),
        svid: Some(Arc::new(svid)),
    }
}

/// A state with `ca`'s bundle plus `jwt_keys` (kid, SPKI DER) and `entries`.
pub fn state(ca: &TestCa, jwt_keys: &[(&str, Vec<u8>)], entries: Vec<CachedEntry>) -> AgentState {
    let mut bundle: Bundle = ca.bundle();
    bundle.jwt_authorities = jwt_keys
        .iter()
        .map(|(kid, spki)| JwtAuthority {
            key_id: (*kid).into(),
            public_key: spki.clone(),
            expires_at: 0,
            tainted: false,
        })
        .collect();
    AgentState {
        agent_id: format!("spiffe://{TD}/agent"),
        bundle,
        federated_bundles: Vec::new(),
        entries,
    }
}

/// A running Workload API on a temp socket.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub state: watch::Sender<Option<Arc<AgentState>>>,
    pub attestor: FakeAttestor,
    pub minter: FakeMinter,
    pub clock: Arc<ManualClock>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), ServeError>>,
}

impl Harness {
    pub async fn start(initial: Option<AgentState>, attestor: FakeAttestor) -> Self {
        Self::start_with(initial, attestor, WorkloadApiSection::default()).await
    }

    pub async fn start_with(
        initial: Option<AgentState>,
        attestor: FakeAttestor,
        limits: WorkloadApiSection,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("public").join("api.sock");
        let (state, rx) = watch::channel(initial.map(Arc::new));
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let minter = FakeMinter {
            calls: Arc::new(AtomicUsize::new(0)),
            clock: Arc::clone(&clock),
        };
        let api = WorkloadApi::new(
            rx,
            attestor.clone(),
            minter.clone(),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(
            WorkloadEndpoint::new(path.clone(), api)
                .with_limits(limits)
                .run(shutdown.clone()),
        );
        wait_for_socket(&path).await;
        Self {
            dir,
            path,
            state,
            attestor,
            minter,
            clock,
            shutdown,
            task,
        }
    }

    pub fn publish(&self, state: AgentState) {
        self.state.send_replace(Some(Arc::new(state)));
    }

    pub async fn client(&self) -> SpiffeWorkloadApiClient<Channel> {
        SpiffeWorkloadApiClient::new(
            channel(&self.path, Endpoint::from_static("http://localhost")).await,
        )
    }
}

pub async fn wait_for_socket(path: &Path) {
    for _ in 0..500 {
        if UnixStream::connect(path).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the Workload API socket never came up");
}

/// A channel over the Unix socket at `path`, configured by `endpoint`.
pub async fn channel(path: &Path, endpoint: Endpoint) -> Channel {
    let path = path.to_path_buf();
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { UnixStream::connect(path).await.map(TokioIo::new) }
        }))
        .await
        .unwrap()
}

/// A request with the security header.
pub fn req<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("workload.spiffe.io", "true".parse().unwrap());
    r
}

/// Awaits with a generous bound so a hang fails the test instead of blocking it.
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out")
}
