//! The attestation boundary's one error type.

use crate::datastore::DatastoreError;

/// Why an attestation (or a join-token request) failed. Messages never contain the
/// presented token; the API layer maps each variant to a gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    /// The payload (or request) is malformed, names an unknown attestor or an unconfigured
    /// cluster: `InvalidArgument`.
    #[error("invalid attestation payload: {0}")]
    InvalidPayload(String),
    /// The evidence was checked and refused (unknown, used or expired token, service
    /// account not allowed, ...): `PermissionDenied`.
    #[error("attestation refused: {0}")]
    Refused(String),
    /// A dependency (the Kubernetes API) could not be reached; retry later: `Unavailable`.
    #[error("attestation unavailable: {0}")]
    Unavailable(String),
    /// Anything else (storage, unexpected API answers): `Internal`.
    #[error("attestation failed: {0}")]
    Internal(String),
}

impl AttestationError {
    /// A short word for audit events: `invalid`, `refused`, `unavailable` or `error`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::InvalidPayload(_) => "invalid",
            Self::Refused(_) => "refused",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "error",
        }
    }
}

impl From<DatastoreError> for AttestationError {
    fn from(e: DatastoreError) -> Self {
        Self::Internal(format!("datastore: {e}"))
    }
}
