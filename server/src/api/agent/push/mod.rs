//! `WatchChanges`: push instead of poll. Each stream is one task holding the agent's
//! [`Interest`] (which parent IDs lead to entries it is authorized for); it listens on the
//! [`ChangeHub`] (this replica's writes, and on PostgreSQL every replica's) and on the CA's
//! published bundle, and sends the agent a small signal when something it holds may have
//! changed. The agent answers with its usual sync: the signal carries no data, so
//! correctness stays in `SyncEntries`/`GetBundles`.
//!
//! Signals coalesce: the stream's buffer holds one; while one is waiting, more changes add
//! nothing (the sync the waiting signal causes starts after they were committed, so it sees
//! them).

mod interest;
mod watcher;
#[cfg(test)]
mod watcher_tests;

pub use interest::Interest;
pub use watcher::{SIGNAL_BUFFER, Watcher};

use tokio_util::sync::CancellationToken;

use crate::changes::ChangeHub;

/// What `WatchChanges` needs: where changes are announced, and when to end every stream
/// (server shutdown: a graceful stop must not wait for agents to hang up).
#[derive(Debug, Clone)]
pub struct Push {
    /// The replica's change announcements.
    pub hub: ChangeHub,
    /// Ends every stream.
    pub shutdown: CancellationToken,
}
