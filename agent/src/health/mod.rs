//! Agent readiness: what `/ready` answers (and, through it, `healthcheck --config`). The
//! endpoint itself is shared with the server ([`tessera_proto::health`]).

mod assess;
mod probe;

pub use assess::{NOT_READY_ATTESTATION, NOT_READY_BUNDLE, NOT_READY_SVIDS, assess};
pub use probe::AgentProbe;
