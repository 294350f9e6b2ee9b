//! Mapping domain errors to gRPC statuses: precise codes, no internal detail sent.

use tonic::Status;

use crate::attestation::AttestationError;
use crate::ca::CaError;
use crate::datastore::DatastoreError;
use crate::oauth::clients::ClientError;
use crate::registration::RegistrationError;

/// The gRPC status for a datastore error. Storage detail is logged, not sent.
pub fn datastore_status(e: DatastoreError) -> Status {
    match e {
        DatastoreError::AlreadyExists(m) => Status::already_exists(m),
        DatastoreError::NotFound(m) => Status::not_found(m),
        DatastoreError::Conflict(m) => Status::aborted(format!("concurrent change, retry: {m}")),
        DatastoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "datastore unavailable");
            Status::unavailable("the datastore is unavailable; retry")
        }
        other => {
            tracing::error!(error = %other, "datastore error");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The gRPC status for a CA error. Internal failures are logged and sent as a bare
/// `Internal`.
pub fn ca_status(e: CaError) -> Status {
    match e {
        CaError::InvalidRequest(m) => Status::invalid_argument(m),
        CaError::FailedPrecondition(m) => Status::failed_precondition(m),
        e @ CaError::NotFound { .. } => Status::not_found(e.to_string()),
        e @ CaError::NotReady(_) => Status::unavailable(e.to_string()),
        CaError::Datastore(e) => datastore_status(e),
        other => {
            tracing::error!(error = %other, "internal CA error");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The gRPC status for an attestation error (messages never carry the token).
pub fn attestation_status(e: AttestationError) -> Status {
    match e {
        AttestationError::InvalidPayload(m) => Status::invalid_argument(m),
        AttestationError::Refused(m) => Status::permission_denied(m),
        AttestationError::Unavailable(m) => {
            tracing::warn!(error = %m, "attestation dependency unavailable");
            Status::unavailable("a dependency of node attestation is unavailable; retry")
        }
        AttestationError::Internal(m) => {
            tracing::error!(error = %m, "internal attestation error");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The gRPC status for a refused entry: `InvalidArgument` naming the field.
pub fn registration_status(e: RegistrationError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// The gRPC status for a refused OAuth client registration: `InvalidArgument` naming the
/// field.
pub fn client_status(e: ClientError) -> Status {
    Status::invalid_argument(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datastore_outage_is_unavailable_without_its_detail() {
        let status = datastore_status(DatastoreError::Unavailable(
            "connection refused at 10.0.0.5:5432".into(),
        ));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), "the datastore is unavailable; retry");
        let status = datastore_status(DatastoreError::Storage("disk".into()));
        assert_eq!(status.code(), tonic::Code::Internal);
    }
}
