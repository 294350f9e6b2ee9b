//! [`WorkloadAttestors`]: every configured attestor behind one PID-reuse guard, built from
//! `[workload_attestor]`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use tessera_proto::identity::Selector;
use tessera_proto::metrics::Outcome;

use super::k8s::K8sAttestor;
use super::kubelet::KubeletClient;
use super::procfs::{ProcFs, StartTimes};
use super::selectors::SelectorSet;
use super::unix::UnixAttestor;
use super::{Caller, WorkloadAttestError};
use crate::config::{AgentConfig, K8sWorkloadSection};
use crate::metrics::{WorkloadAttestationMetrics, WorkloadAttestor};
use crate::tls::InsecureBootstrapVerifier;

/// The kubelet's secure port when none is configured.
pub const DEFAULT_KUBELET_SECURE_PORT: u16 = 10250;
/// The CA bundle the kubelet is verified with when `kubelet_ca_path` is not set.
pub const DEFAULT_KUBELET_CA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

/// Every configured workload attestor: `unix` always, `k8s` when configured.
#[derive(Debug, Clone)]
pub struct WorkloadAttestors {
    procfs: ProcFs,
    start_times: Arc<dyn StartTimes>,
    unix: UnixAttestor,
    k8s: Option<K8sAttestor>,
    metrics: WorkloadAttestationMetrics,
}

impl WorkloadAttestors {
    /// Attestors reading `/proc` and `/etc` under `root` (normally `/`): `unix` as given,
    /// `k8s` if any.
    pub fn new(root: impl Into<PathBuf>, unix: UnixAttestor, k8s: Option<K8sAttestor>) -> Self {
        let procfs = ProcFs::new(root);
        Self {
            start_times: Arc::new(procfs.clone()),
            procfs,
            unix,
            k8s,
            metrics: WorkloadAttestationMetrics::default(),
        }
    }

    /// Records each attestor's runs in `metrics`.
    pub fn with_metrics(mut self, metrics: WorkloadAttestationMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Replaces the source of process start times (tests).
    pub fn with_start_times(mut self, start_times: Arc<dyn StartTimes>) -> Self {
        self.start_times = start_times;
        self
    }

    /// The attestors `config`'s `[workload_attestor]` section asks for, reading `/proc`
    /// and `/etc` under its `host_root` (default `/`).
    pub fn from_config(config: &AgentConfig) -> Result<Self, String> {
        match &config.workload_attestor.host_root {
            Some(root) if !root.is_absolute() => Err(format!(
                "host_root {} is not an absolute path",
                root.display()
            )),
            Some(root) => Self::from_config_at(config, root.clone()),
            None => Self::from_config_at(config, "/"),
        }
    }

    /// [`from_config`](Self::from_config) with `/proc` and `/etc` under `root`.
    pub fn from_config_at(config: &AgentConfig, root: impl Into<PathBuf>) -> Result<Self, String> {
        let root = root.into();
        let section = &config.workload_attestor;
        let mut unix = UnixAttestor::new(root.clone());
        if section.unix.discover_workload_path {
            unix = unix.with_workload_path(section.unix.workload_size_limit);
        }
        let k8s = match &section.k8s {
            None => None,
            Some(k8s) => Some(
                K8sAttestor::new(
                    root.clone(),
                    kubelet_client(k8s, &|v| std::env::var(v).ok())?,
                )
                .with_polling(k8s.max_poll_attempts, k8s.poll_interval),
            ),
        };
        Ok(Self::new(root, unix, k8s))
    }

    /// The selectors of `caller` (sorted, deduplicated).
    ///
    /// The PID's start time must be the one pinned at accept ([`Caller::start_time`])
    /// before and after the attestors run; otherwise the process that connected is gone and
    /// its PID may now name another process: [`WorkloadAttestError::ProcessChanged`]. So is
    /// a `/proc` effective UID other than the socket's peer UID.
    pub async fn attest(&self, caller: Caller) -> Result<Vec<Selector>, WorkloadAttestError> {
        let pid = caller.pid;
        self.still_there(caller)?;

        let mut selectors = SelectorSet::new();
        let unix = self.unix.clone();
        let (unix_result, unix_selectors) = tokio::task::spawn_blocking(move || {
            let mut set = SelectorSet::new();
            let r = unix.attest(pid, &mut set);
            (r, set)
        })
        .await
        .map_err(|e| WorkloadAttestError::Failed(format!("unix attestor task: {e}")))?;
        self.metrics.record(
            WorkloadAttestor::Unix,
            if matches!(unix_result, Ok(Some(()))) {
                Outcome::Ok
            } else {
                Outcome::Error
            },
        );
        match unix_result {
            Ok(Some(())) => selectors.extend(unix_selectors),
            Ok(None) => return Err(WorkloadAttestError::ProcessChanged),
            Err(e) => return Err(WorkloadAttestError::Failed(format!("unix attestor: {e}"))),
        }
        if let Some(k8s) = &self.k8s {
            let attested = k8s.attest(pid, &mut selectors).await;
            self.metrics
                .record(WorkloadAttestor::K8s, Outcome::of(&attested));
            attested?;
        }

        self.same_start_time(caller)?;
        Ok(selectors.into_vec())
    }

    /// The cheap check that `caller` is still the process pinned at accept: same start time,
    /// `/proc` effective UID equal to the peer UID. Run before every call on a connection
    /// whose selectors were computed by an earlier call.
    pub fn still_there(&self, caller: Caller) -> Result<(), WorkloadAttestError> {
        let pid = caller.pid;
        if pid <= 0 {
            return Err(WorkloadAttestError::Failed(format!("invalid PID {pid}")));
        }
        let status = self
            .procfs
            .status(pid)
            .map_err(|e| WorkloadAttestError::Failed(format!("/proc/{pid}/status: {e}")))?
            .ok_or(WorkloadAttestError::ProcessChanged)?;
        if status.euid() != caller.uid {
            tracing::warn!(
                pid,
                peer_uid = caller.uid,
                proc_uid = status.euid(),
                "caller's /proc UID differs from its socket credentials"
            );
            return Err(WorkloadAttestError::ProcessChanged);
        }
        // After the status read: if the PID still has the pinned start time, that status
        // was the pinned process's.
        self.same_start_time(caller)
    }

    /// The start time of `pid` as it is now, for pinning a new connection; `None` when the
    /// process is already gone.
    pub fn start_time_now(&self, pid: i32) -> Result<Option<u64>, WorkloadAttestError> {
        self.start_times
            .start_time(pid)
            .map_err(|e| WorkloadAttestError::Failed(format!("/proc/{pid}/stat: {e}")))
    }

    /// `ProcessChanged` unless `caller.pid` still has the pinned start time.
    fn same_start_time(&self, caller: Caller) -> Result<(), WorkloadAttestError> {
        match self.start_time_now(caller.pid)? {
            Some(now) if now == caller.start_time => Ok(()),
            _ => Err(WorkloadAttestError::ProcessChanged),
        }
    }
}

/// The kubelet client `section` describes; `env` looks up environment variables.
///
/// `kubelet_url` wins; else the read-only port on 127.0.0.1 (plain HTTP, no token); else
/// the secure port on the node name (or 127.0.0.1) with the service-account token. The
/// token is only ever sent over https.
pub(super) fn kubelet_client(
    section: &K8sWorkloadSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<KubeletClient, String> {
    let url = match (&section.kubelet_url, section.kubelet_read_only_port) {
        (Some(url), _) => url.clone(),
        (None, Some(port)) => format!("http://127.0.0.1:{port}"),
        (None, None) => {
            let host = section
                .node_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| env(&section.node_name_env).filter(|n| !n.is_empty()))
                .unwrap_or_else(|| "127.0.0.1".into());
            let port = section
                .kubelet_secure_port
                .unwrap_or(DEFAULT_KUBELET_SECURE_PORT);
            if host.contains(':') {
                format!("https://[{host}]:{port}")
            } else {
                format!("https://{host}:{port}")
            }
        }
    };
    if !url.starts_with("https://") {
        return KubeletClient::new(&url, None, None);
    }
    let verifier: Arc<dyn ServerCertVerifier> = if section.skip_kubelet_verification {
        Arc::new(InsecureBootstrapVerifier::default())
    } else {
        let ca = section
            .kubelet_ca_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KUBELET_CA_PATH));
        ca_verifier(&ca)?
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("kubelet TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    KubeletClient::new(&url, Some(Arc::new(tls)), Some(section.token_path.clone()))
}

/// A WebPKI verifier trusting the PEM certificates in `path`.
fn ca_verifier(path: &Path) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("kubelet_ca_path {shown}: {e}"))?;
    let blocks = pem::parse_many(&bytes).map_err(|e| format!("kubelet_ca_path {shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for block in blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE") {
        roots
            .add(block.into_contents().into())
            .map_err(|e| format!("kubelet_ca_path {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("kubelet_ca_path {shown}: no certificates"));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("kubelet_ca_path {shown}: {e}"))?;
    Ok(verifier)
}

#[cfg(test)]
#[path = "attestors_tests.rs"]
mod tests;
