//! The agent API client: one function per RPC over a connected channel, errors sorted by
//! what the agent does about them.

mod api;
mod error;

pub use api::{
    AgentApi, BATCH_LIMIT, attest, batch_new_x509_svids, get_bundles, new_jwt_svid, renew_agent,
    sync_entries, sync_entries_with, watch_changes,
};
pub use error::ClientError;
