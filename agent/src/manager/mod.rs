//! The agent's link to the server: its own identity (attest, renew, re-attest), the sync
//! loop (bundles, entries), and the X.509-SVIDs it holds for its entries, published as
//! [`AgentState`] snapshots through a `watch` channel.

mod error;
mod identity;
mod issuer;
mod push;
mod rotation;
mod runner;
mod state;
mod svids;
mod sync;

pub use error::ManagerError;
pub use push::{PushWatcher, Woken, pause};
pub use rotation::{ReissueReason, is_tainted, reissue_reason, rotation_time, should_rotate};
pub use runner::{Manager, ManagerConfig, next_backoff};
pub use state::{AgentState, CachedEntry};
pub use sync::{MergeOutcome, SyncResult, merge_pages};

#[cfg(test)]
mod tests;
