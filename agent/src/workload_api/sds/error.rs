//! [`SdsError`]: why an SDS call failed, turned into a `tonic::Status` here and nowhere else.

use tonic::Status;

use super::super::error::RpcError;

/// Why an SDS call (or stream) failed. Each variant documents the gRPC code it maps to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdsError {
    /// The request's `type_url` is neither empty nor the `Secret` type → `InvalidArgument`.
    #[error("unsupported type_url {type_url:?}: this service serves {expected}")]
    WrongType {
        /// What the request asked for (cut to 256 bytes).
        type_url: String,
        /// The `Secret` type URL.
        expected: String,
    },
    /// More resource names than the limit → `InvalidArgument`.
    #[error("at most {max} resource names may be requested, got {count}")]
    TooManyNames {
        /// How many were requested.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A resource name longer than the limit → `InvalidArgument`.
    #[error("a resource name may be at most {max} bytes long")]
    NameTooLong {
        /// The limit.
        max: usize,
    },
    /// Names the caller may not have (or that do not exist) → `InvalidArgument`, as SPIRE.
    #[error("workload is not authorized for the requested identities {names:?}")]
    NotEntitled {
        /// The refused names (the caller's own request), sorted, at most a few.
        names: Vec<String>,
    },
    /// The agent is shutting down → `Unavailable`.
    #[error("the agent is shutting down")]
    ShuttingDown,
    /// The Workload API checks every caller passes (sync, caller, attestation, identity) →
    /// the Workload API's code.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

impl SdsError {
    /// The status sent to the caller.
    pub fn into_status(self) -> Status {
        match self {
            Self::Rpc(e) => e.into_status(),
            Self::ShuttingDown => Status::unavailable(self.to_string()),
            Self::WrongType { .. }
            | Self::TooManyNames { .. }
            | Self::NameTooLong { .. }
            | Self::NotEntitled { .. } => Status::invalid_argument(self.to_string()),
        }
    }
}

impl From<SdsError> for Status {
    fn from(e: SdsError) -> Self {
        e.into_status()
    }
}

impl From<crate::attestor::workload::WorkloadAttestError> for SdsError {
    fn from(e: crate::attestor::workload::WorkloadAttestError) -> Self {
        Self::Rpc(RpcError::from(e))
    }
}
