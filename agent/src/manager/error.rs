//! Why a manager round or the manager itself failed.

use crate::attestor::node::AttestorError;
use crate::client::ClientError;
use crate::store::StoreError;
use crate::tls::ConnectError;

/// A manager failure. [`ManagerError::is_fatal`] tells the loop whether to stop or retry.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The agent SVID expired or was evicted and its join token is spent.
    #[error(
        "the agent SVID expired/was evicted and join tokens are single-use: generate a new token (tessera-server token generate) and restart with it"
    )]
    JoinTokenSpent,
    /// The server refused the attestation (used or expired token, bad credential).
    #[error("node attestation refused: {0}")]
    AttestationRefused(String),
    /// The attestor could not produce its credential.
    #[error("node attestor: {0}")]
    Attestor(#[from] AttestorError),
    /// Neither a trust bundle nor insecure bootstrap is available for the first attestation.
    #[error(
        "no trust bundle: set trust_bundle_path (the output of `tessera-server bundle show`) or, for development only, insecure_bootstrap = true"
    )]
    NoTrustBundle,
    /// The data directory failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The server could not be reached.
    #[error("{0}")]
    Connect(#[from] ConnectError),
    /// An RPC failed.
    #[error("{0}")]
    Server(#[from] ClientError),
    /// The server evicted the agent (PermissionDenied); it attests again.
    #[error("the server refused the agent SVID ({0}); attesting again")]
    Evicted(String),
    /// The server answered something the agent refuses to use.
    #[error("invalid server response: {0}")]
    InvalidResponse(String),
    /// Local crypto failed.
    #[error("{0}")]
    Crypto(String),
    /// A worker of the blocking pool (key generation, chain checks) panicked or was
    /// cancelled.
    #[error("a crypto worker stopped: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl ManagerError {
    /// True when retrying cannot help: the agent must stop.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::JoinTokenSpent | Self::AttestationRefused(_) | Self::NoTrustBundle
        )
    }
}
