//! The errors of the Workload API boundary: [`RpcError`] (one per failed call, turned into a
//! `tonic::Status` here and nowhere else) and [`ServeError`] (the endpoint could not run).

use tonic::Status;

use crate::attestor::workload::WorkloadAttestError;
use crate::client::ClientError;
use tessera_proto::jwt_svid::TokenError;

/// Why a Workload API call failed. Each variant documents the gRPC code it maps to; internal
/// detail (attestor and server errors) is logged by [`RpcError::into_status`], never sent.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The `workload.spiffe.io: true` metadata is absent → `InvalidArgument`.
    #[error("security header missing from request")]
    MissingHeader,
    /// A required request field is empty → `InvalidArgument`.
    #[error("{0} must be specified")]
    MissingField(&'static str),
    /// `FetchJWTSVID` named more audiences than [`super::MAX_AUDIENCES`] →
    /// `InvalidArgument`.
    #[error("at most {max} audiences may be requested, got {count}")]
    TooManyAudiences {
        /// How many were requested.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An audience is longer than [`super::MAX_AUDIENCE_LEN`] bytes → `InvalidArgument`.
    #[error("an audience may be at most {max} bytes long")]
    AudienceTooLong {
        /// The limit.
        max: usize,
    },
    /// The agent has not completed its first sync → `Unavailable`.
    #[error("the agent is not synced yet")]
    NotSynced,
    /// The connection has no peer credentials → `PermissionDenied`.
    #[error("the caller could not be identified")]
    NoCaller,
    /// Workload attestation failed → `PermissionDenied` when the process changed,
    /// `Unavailable` otherwise.
    #[error(transparent)]
    Attestation(#[from] WorkloadAttestError),
    /// No cached entry with an SVID matches the caller's selectors → `PermissionDenied`.
    #[error("no identity issued")]
    NoIdentity,
    /// `FetchJWTSVID` named a SPIFFE ID that is not one of the caller's → `PermissionDenied`.
    #[error("no identity issued for the requested SPIFFE ID")]
    NotCallersIdentity,
    /// The server refused or failed to mint a JWT-SVID → code by the server's answer.
    #[error(transparent)]
    Mint(#[from] ClientError),
    /// A JWT-SVID failed validation → `InvalidArgument` with the precise reason.
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
}

impl RpcError {
    /// The status sent to the workload; server-side detail is logged here.
    pub fn into_status(self) -> Status {
        match self {
            Self::MissingHeader
            | Self::MissingField(_)
            | Self::InvalidToken(_)
            | Self::TooManyAudiences { .. }
            | Self::AudienceTooLong { .. } => Status::invalid_argument(self.to_string()),
            Self::NotSynced => Status::unavailable(self.to_string()),
            Self::NoCaller | Self::NoIdentity | Self::NotCallersIdentity => {
                Status::permission_denied(self.to_string())
            }
            Self::Attestation(e) => {
                tracing::warn!(error = %e, "workload attestation failed");
                match e {
                    WorkloadAttestError::ProcessChanged => {
                        Status::permission_denied("workload attestation failed")
                    }
                    WorkloadAttestError::Unavailable(_) | WorkloadAttestError::Failed(_) => {
                        Status::unavailable("workload attestation failed")
                    }
                }
            }
            Self::Mint(e) => {
                tracing::warn!(error = %e, "minting a JWT-SVID failed");
                match e {
                    ClientError::PermissionDenied(_) => {
                        Status::permission_denied("the server refused the JWT-SVID")
                    }
                    ClientError::InvalidArgument(_) => {
                        Status::invalid_argument("the server rejected the JWT-SVID request")
                    }
                    ClientError::Unavailable(_) | ClientError::InvalidResponse(_) => {
                        Status::unavailable("could not mint a JWT-SVID")
                    }
                }
            }
        }
    }
}

impl From<RpcError> for Status {
    fn from(e: RpcError) -> Self {
        e.into_status()
    }
}

/// Why the Workload API endpoint could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket could not be bound (in use, not a socket, permissions, …).
    #[error("binding the Workload API socket {path}: {source}")]
    Bind {
        /// The configured socket path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("Workload API server: {0}")]
    Serve(#[from] tonic::transport::Error),
}
