//! Workload attestation: the selectors of the process behind a Workload API connection.
//!
//! The contract the Workload API codes against (the attestors themselves live in the
//! files of this folder):
//! - [`Caller`]: PID/UID/GID from the socket's peer credentials (SO_PEERCRED);
//! - [`WorkloadAttestors::attest`]: every configured attestor's selectors for the caller,
//!   guarded against PID reuse; a process the attestors know nothing about yields an empty
//!   list, not an error.

use tessera_proto::identity::Selector;

/// The process behind a Workload API connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Process ID.
    pub pid: i32,
    /// Effective user ID.
    pub uid: u32,
    /// Effective group ID.
    pub gid: u32,
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

/// Every configured workload attestor.
#[derive(Debug, Default)]
pub struct WorkloadAttestors {
    _private: (),
}

impl WorkloadAttestors {
    /// The selectors of `caller` (sorted, deduplicated).
    pub async fn attest(&self, caller: Caller) -> Result<Vec<Selector>, WorkloadAttestError> {
        let _ = caller;
        Err(WorkloadAttestError::Failed(
            "no workload attestor is built yet".into(),
        ))
    }
}
