//! Why a fetch of a federated bundle failed or was refused (shown as `last_error`).

use std::time::Duration;

use super::accept::Refusal;
use super::client::ClientConfigError;
use super::endpoint_svid::EndpointSvidError;
use super::relationship::RelationshipError;
use crate::datastore::DatastoreError;

/// A failed fetch; the held bundle stays as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The stored relationship does not check out.
    #[error("relationship: {0}")]
    Relationship(#[from] RelationshipError),
    /// `https_spiffe` needs a bundle of the trust domain to verify the endpoint with.
    #[error(
        "no X.509 authority of {0} is held to verify its https_spiffe endpoint; create the relationship with its initial bundle"
    )]
    NoHeldBundle(String),
    /// The TLS client configuration could not be built.
    #[error("{0}")]
    Client(#[from] ClientConfigError),
    /// The TCP connection failed.
    #[error("connecting to {0}")]
    Connect(String),
    /// The TLS handshake failed (including an endpoint certificate that was refused).
    #[error("TLS: {0}")]
    Tls(String),
    /// `https_spiffe`: the endpoint's certificate was refused.
    #[error("refused the endpoint: {0}")]
    Endpoint(EndpointSvidError),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// The endpoint answered something other than 200.
    #[error("the endpoint answered HTTP {0}")]
    Status(u16),
    /// The document is larger than the cap.
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    /// The fetch took too long.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The document was refused.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The datastore failed.
    #[error("datastore: {0}")]
    Datastore(#[from] DatastoreError),
}
