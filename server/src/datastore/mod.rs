//! The datastore: one trait per entity group, implemented on sled (embedded default).
//!
//! Every write is acknowledged only after it is durable (flushed). Optimistic concurrency
//! (expected revisions / sequences) lets several server replicas share one store.

mod error;
#[cfg(test)]
pub mod memory;
mod sled;

pub use error::DatastoreError;
pub use sled::SledStore;

use std::future::Future;

use tessera_proto::wire::tessera::types::v1::Bundle;

/// A server's CA journal: an opaque document the CA owns, with a monotonic revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalBlob {
    /// Bumped on every write.
    pub revision: u64,
    /// The CA's serialized journal (private keys inside are sealed by the CA).
    pub data: Vec<u8>,
}

/// A bundle write that must not race another writer.
#[derive(Debug, Clone, Copy)]
pub struct BundleWrite<'a> {
    /// The new bundle.
    pub bundle: &'a Bundle,
    /// The sequence the stored bundle must still have; `None`: no bundle may exist yet.
    pub expected_sequence: Option<u64>,
}

/// CA journals (one per server replica) committed together with the trust bundle.
pub trait CaJournalStore: Send + Sync + 'static {
    /// The journal of `server_id`, if one was ever written.
    fn load_journal(
        &self,
        server_id: &str,
    ) -> impl Future<Output = Result<Option<JournalBlob>, DatastoreError>> + Send;

    /// Atomically writes the journal (if its revision is still `expected_revision`; `None`
    /// when none may exist yet) and, when given, the bundle. Returns the new revision.
    /// A lost race is [`DatastoreError::Conflict`] and writes nothing.
    fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}

/// Trust bundles, own and federated, keyed by trust domain name.
pub trait BundleStore: Send + Sync + 'static {
    /// The bundle of `trust_domain`.
    fn get_bundle(
        &self,
        trust_domain: &str,
    ) -> impl Future<Output = Result<Option<Bundle>, DatastoreError>> + Send;

    /// Every stored bundle, ordered by trust domain.
    fn list_bundles(&self) -> impl Future<Output = Result<Vec<Bundle>, DatastoreError>> + Send;

    /// Writes a bundle if the stored one still has `expected_sequence`.
    fn put_bundle(
        &self,
        write: BundleWrite<'_>,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes a bundle; `false` when there was none.
    fn delete_bundle(
        &self,
        trust_domain: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;
}

/// Everything a server needs from its datastore.
pub trait Datastore: CaJournalStore + BundleStore {}

impl<T: CaJournalStore + BundleStore> Datastore for T {}
