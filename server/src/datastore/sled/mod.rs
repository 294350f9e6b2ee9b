//! The embedded sled backend.

mod agents;
mod bundles;
mod entries;
mod join_tokens;
mod journal;

use std::path::Path;

use super::DatastoreError;

const JOURNALS: &str = "ca_journals";
const BUNDLES: &str = "bundles";
const META: &str = "meta";
const ENTRIES: &str = "entries";
const ENTRY_PARENTS: &str = "entry_parents";
const ENTRY_TRIPLES: &str = "entry_triples";
const AGENTS: &str = "agents";
const JOIN_TOKENS: &str = "join_tokens";

/// A datastore in a sled database on local disk.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: ::sled::Db,
    journals: ::sled::Tree,
    bundles: ::sled::Tree,
    /// Counters (e.g. the entries revision).
    meta: ::sled::Tree,
    /// Entry ID → prost `Entry`.
    entries: ::sled::Tree,
    /// `parent_id \0 entry_id` → empty: the by-parent index.
    entry_parents: ::sled::Tree,
    /// Digest of (spiffe_id, parent_id, selectors) → entry ID: the uniqueness index.
    entry_triples: ::sled::Tree,
    /// Agent SPIFFE ID → prost `AttestedAgent`.
    agents: ::sled::Tree,
    /// Token SHA-256 (hex) → record.
    join_tokens: ::sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, DatastoreError> {
        let db = ::sled::Config::new()
            .path(dir)
            .open()
            .map_err(|e| DatastoreError::Storage(format!("opening {}: {e}", dir.display())))?;
        let journals = db.open_tree(JOURNALS).map_err(storage)?;
        let bundles = db.open_tree(BUNDLES).map_err(storage)?;
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        Ok(Self {
            meta: tree(META)?,
            entries: tree(ENTRIES)?,
            entry_parents: tree(ENTRY_PARENTS)?,
            entry_triples: tree(ENTRY_TRIPLES)?,
            agents: tree(AGENTS)?,
            join_tokens: tree(JOIN_TOKENS)?,
            db,
            journals,
            bundles,
        })
    }

    /// Makes every acknowledged write durable.
    ///
    /// A blocking `flush` on tokio's blocking pool, not sled's `flush_async`: concurrent
    /// `flush_async` calls can hang forever in sled 0.34 (spacejam/sled#1308, fixed only on
    /// its unreleased main branch); concurrent creates hit it at once.
    async fn flush(&self) -> Result<(), DatastoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| DatastoreError::Storage(format!("flush task: {e}")))?
            .map(drop)
            .map_err(storage)
    }
}

fn storage(e: ::sled::Error) -> DatastoreError {
    DatastoreError::Storage(e.to_string())
}
