//! Change notification: what changed in the datastore that agents may need now (entries,
//! bundles), announced in-process through a [`ChangeHub`].
//!
//! Sources: the sled backend announces its own committed writes; on PostgreSQL a trigger
//! (migration `0006_change_notify`) sends `pg_notify` in the writing transaction and every
//! replica's listener connection announces what it hears, so a write through any replica
//! (admin API, CLI, the Kubernetes registration controller: every path goes through the
//! `EntryStore`/`BundleStore` writes) reaches the agents connected to every replica.
//! Consumers: the agent API's `WatchChanges` streams, and the CA rotator (a bundle written by
//! another replica is adopted at once instead of at the next rotation check).
//!
//! Announcements are hints, never data: a lost one (a lagging receiver, a listener
//! reconnecting) becomes [`Change::Everything`], and the agents' periodic full sync stays
//! the safety net.

mod change;
mod hub;
#[cfg(test)]
pub mod store_tests;

pub use change::Change;
pub use hub::{CHANGE_BACKLOG, ChangeHub, ChangeReceiver};
