//! Server readiness: what `/ready` and the admin `Health.Check` (the `healthcheck` CLI)
//! both answer, from one probe. The endpoint itself is shared with the agent
//! ([`tessera_proto::health`]).

mod assess;
mod probe;

pub use assess::{
    NOT_READY_BUNDLE, NOT_READY_DATASTORE, NOT_READY_JWT_KEY, NOT_READY_X509_CA, StoredBundle,
    assess,
};
pub use probe::{DATASTORE_TIMEOUT, ServerProbe};
