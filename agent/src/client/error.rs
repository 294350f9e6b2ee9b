//! Errors of agent API calls.

use tonic::Code;

/// An agent API call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server refused the agent: banned, evicted, unknown SVID, or (on `Attest`) a used,
    /// expired or bad credential.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The request was malformed (bad payload or CSR).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server is unreachable or temporarily failing; retry later.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// The server answered something unusable.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            Code::PermissionDenied | Code::Unauthenticated => Self::PermissionDenied(message),
            Code::InvalidArgument => Self::InvalidArgument(message),
            code => Self::Unavailable(format!("{code:?}: {message}")),
        }
    }
}
