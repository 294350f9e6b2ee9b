//! Workload attestation: the selectors of the process behind a Workload API connection.
//!
//! The contract the Workload API codes against (the attestors themselves live in the
//! files of this folder):
//! - [`Caller`]: PID/UID/GID from the socket's peer credentials (SO_PEERCRED) and the
//!   PID's start time, read once when the connection is accepted (the pin);
//! - [`WorkloadAttestors::attest`]: every configured attestor's selectors for the caller,
//!   guarded against PID reuse (the PID's start time must still be the pinned one); a process the attestors know nothing about yields an empty
//!   list, not an error.
//!
//! Built with [`WorkloadAttestors::from_config`] from `[workload_attestor]`:
//! - `unix` (always): `unix:uid`, `unix:user`, `unix:gid`, `unix:group`,
//!   `unix:supplementary_gid`, `unix:supplementary_group`, and with
//!   `discover_workload_path` also `unix:path` and `unix:sha256`;
//! - `k8s` (with `[workload_attestor.k8s]`): `k8s:ns`, `k8s:sa`, `k8s:node-name`,
//!   `k8s:pod-uid`, `k8s:pod-name`, `k8s:pod-label:K:V`, `k8s:pod-owner:KIND:NAME`,
//!   `k8s:pod-owner-uid:KIND:UID`, `k8s:pod-image:IMG`, `k8s:pod-image-count:N`,
//!   `k8s:pod-init-image:IMG`, `k8s:pod-init-image-count:N`, `k8s:container-name`,
//!   `k8s:container-image:IMG` (images by tag and by digest, as SPIRE).

mod attestors;
mod cgroup;
mod http;
mod k8s;
mod kubelet;
mod pods;
mod procfs;
mod selectors;
mod unix;

pub use attestors::{DEFAULT_KUBELET_CA_PATH, DEFAULT_KUBELET_SECURE_PORT, WorkloadAttestors};
pub use cgroup::PodContainer;
pub use k8s::{DEFAULT_MAX_POLL_ATTEMPTS, DEFAULT_POLL_INTERVAL, K8sAttestor};
pub use kubelet::{KubeletClient, KubeletError};
pub use procfs::{ProcFs, ProcStatus, StartTimes, parse_stat_start_time};
pub use selectors::SelectorSet;
pub use unix::{DEFAULT_WORKLOAD_SIZE_LIMIT, UnixAttestor};

/// The process behind a Workload API connection, pinned when the connection was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Process ID.
    pub pid: i32,
    /// Effective user ID.
    pub uid: u32,
    /// Effective group ID.
    pub gid: u32,
    /// The start time of `pid` (clock ticks since boot) read at accept: a process with the
    /// same PID and another start time is another process, and is refused.
    pub start_time: u64,
}

/// Why a caller could not be attested.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadAttestError {
    /// The process went away or its PID was reused while attesting.
    #[error("the calling process changed or exited during attestation")]
    ProcessChanged,
    /// A source of selectors (e.g. the kubelet) is not reachable right now.
    #[error("workload attestation unavailable: {0}")]
    Unavailable(String),
    /// Anything else (unreadable /proc, …).
    #[error("workload attestation failed: {0}")]
    Failed(String),
}
