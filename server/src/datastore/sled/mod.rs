//! The embedded sled backend.

mod bundles;
mod journal;

use std::path::Path;

use super::DatastoreError;

const JOURNALS: &str = "ca_journals";
const BUNDLES: &str = "bundles";

/// A datastore in a sled database on local disk.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: ::sled::Db,
    journals: ::sled::Tree,
    bundles: ::sled::Tree,
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
        Ok(Self {
            db,
            journals,
            bundles,
        })
    }

    /// Makes every acknowledged write durable.
    async fn flush(&self) -> Result<(), DatastoreError> {
        self.db.flush_async().await.map(drop).map_err(storage)
    }
}

fn storage(e: ::sled::Error) -> DatastoreError {
    DatastoreError::Storage(e.to_string())
}
