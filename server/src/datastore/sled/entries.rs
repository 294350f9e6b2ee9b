//! Registration entries on sled.
//!
//! Trees: `entries` (ID → prost `Entry`), `entry_parents` (`parent_id \0 id` → empty),
//! `entry_triples` (SHA-256 of (spiffe_id, parent_id, selectors) → ID) and the revision
//! counter in `meta`. Every write changes all of them in one multi-tree transaction.

use std::ops::Bound;

use prost::Message as _;
use sled::Transactional as _;
use sled::transaction::TransactionalTree;
use tessera_proto::wire::tessera::types::v1::Entry;

use super::codec::{Abort, abort, finish};
use super::keys::{pair, prefix};
use super::{SledStore, storage};
use crate::changes::Change;
use crate::datastore::{DatastoreError, EntryFilter, EntryStore, Page, triple_key};

/// Key of the entries revision in `meta`.
const REVISION_KEY: &[u8] = b"entries_revision";

fn decode(bytes: &[u8]) -> Result<Entry, DatastoreError> {
    Entry::decode(bytes).map_err(|e| DatastoreError::Corrupt(format!("entry: {e}")))
}

/// `parent_id \0` (the by-parent prefix); the entry ID follows in index keys.
fn parent_prefix(parent_id: &str) -> Vec<u8> {
    prefix(parent_id)
}

fn parent_key(entry: &Entry) -> Vec<u8> {
    pair(&entry.parent_id, &entry.id)
}

fn duplicate(existing: &[u8]) -> Abort {
    abort(DatastoreError::AlreadyExists(format!(
        "an entry with the same SPIFFE ID, parent ID and selectors already exists (entry {})",
        String::from_utf8_lossy(existing)
    )))
}

/// Bumps and returns the entries revision inside a transaction.
fn bump_revision(meta: &TransactionalTree) -> Result<u64, Abort> {
    let current = match meta.get(REVISION_KEY)? {
        Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
            abort(DatastoreError::Corrupt(
                "entries revision is not 8 bytes".into(),
            ))
        })?),
        None => 0,
    };
    let next = current + 1;
    meta.insert(REVISION_KEY, &next.to_be_bytes())?;
    Ok(next)
}

impl SledStore {
    fn trees(&self) -> (&sled::Tree, &sled::Tree, &sled::Tree, &sled::Tree) {
        (
            &self.entries,
            &self.entry_parents,
            &self.entry_triples,
            &self.meta,
        )
    }
}

impl EntryStore for SledStore {
    async fn create_entry(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        if entry.id.is_empty() {
            return Err(DatastoreError::Corrupt("entry without an ID".into()));
        }
        let triple = triple_key(&entry);
        let parent = parent_key(&entry);
        let result = self
            .trees()
            .transaction(|(entries, parents, triples, meta)| {
                if entries.get(entry.id.as_bytes())?.is_some() {
                    return Err(abort(DatastoreError::AlreadyExists(format!(
                        "entry ID {} already exists",
                        entry.id
                    ))));
                }
                if let Some(existing) = triples.get(&triple)? {
                    return Err(duplicate(&existing));
                }
                let mut stored = entry.clone();
                stored.revision = bump_revision(meta)?;
                entries.insert(stored.id.as_bytes(), stored.encode_to_vec())?;
                parents.insert(parent.as_slice(), &[][..])?;
                triples.insert(triple.as_slice(), stored.id.as_bytes())?;
                Ok(stored)
            });
        let stored = finish(result)?;
        self.flush().await?;
        self.changes.announce(Change::entry(
            stored.revision,
            None,
            Some(&stored.parent_id),
        ));
        Ok(stored)
    }

    async fn update_entry(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        let triple = triple_key(&entry);
        let parent = parent_key(&entry);
        let result = self
            .trees()
            .transaction(|(entries, parents, triples, meta)| {
                let old = entries
                    .get(entry.id.as_bytes())?
                    .ok_or_else(|| abort(DatastoreError::NotFound(format!("entry {}", entry.id))))
                    .and_then(|v| decode(&v).map_err(abort))?;
                if let Some(existing) = triples.get(&triple)?
                    && existing.as_ref() != entry.id.as_bytes()
                {
                    return Err(duplicate(&existing));
                }
                parents.remove(parent_key(&old))?;
                triples.remove(triple_key(&old))?;
                let mut stored = entry.clone();
                stored.created_at = old.created_at;
                stored.revision = bump_revision(meta)?;
                entries.insert(stored.id.as_bytes(), stored.encode_to_vec())?;
                parents.insert(parent.as_slice(), &[][..])?;
                triples.insert(triple.as_slice(), stored.id.as_bytes())?;
                Ok((stored, old.parent_id))
            });
        let (stored, old_parent) = finish(result)?;
        self.flush().await?;
        self.changes.announce(Change::entry(
            stored.revision,
            Some(&old_parent),
            Some(&stored.parent_id),
        ));
        Ok(stored)
    }

    async fn delete_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        let result = self
            .trees()
            .transaction(|(entries, parents, triples, meta)| {
                let Some(old) = entries.remove(id.as_bytes())? else {
                    return Ok(None);
                };
                let old = decode(&old).map_err(abort)?;
                parents.remove(parent_key(&old))?;
                triples.remove(triple_key(&old))?;
                let revision = bump_revision(meta)?;
                Ok(Some((old, revision)))
            });
        let Some((deleted, revision)) = finish(result)? else {
            return Ok(None);
        };
        self.flush().await?;
        self.changes
            .announce(Change::entry(revision, Some(&deleted.parent_id), None));
        Ok(Some(deleted))
    }

    async fn get_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        self.entries
            .get(id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn list_entries(
        &self,
        filter: &EntryFilter,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<Entry>, DatastoreError> {
        let page_size = page_size.max(1);
        let mut items = Vec::new();
        let mut more = false;
        let mut push = |entry: Entry| {
            if filter.matches(&entry) {
                if items.len() == page_size {
                    more = true;
                    return false;
                }
                items.push(entry);
            }
            true
        };
        if let Some(parent_id) = &filter.parent_id {
            // The by-parent index narrows the scan to one parent's children.
            let prefix = parent_prefix(parent_id);
            let mut start = prefix.clone();
            start.extend_from_slice(page_token.as_bytes());
            let bound = if page_token.is_empty() {
                Bound::Included(start)
            } else {
                Bound::Excluded(start)
            };
            for kv in self.entry_parents.range((bound, Bound::Unbounded)) {
                let (key, _) = kv.map_err(storage)?;
                let Some(id) = key.strip_prefix(prefix.as_slice()) else {
                    break;
                };
                if let Some(v) = self.entries.get(id).map_err(storage)?
                    && !push(decode(&v)?)
                {
                    break;
                }
            }
        } else {
            let start = page_token.as_bytes().to_vec();
            let bound = if page_token.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Excluded(start)
            };
            for kv in self.entries.range((bound, Bound::Unbounded)) {
                let (_, v) = kv.map_err(storage)?;
                if !push(decode(&v)?) {
                    break;
                }
            }
        }
        let next_page_token = match (more, items.last()) {
            (true, Some(last)) => last.id.clone(),
            _ => String::new(),
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn count_entries(&self) -> Result<u64, DatastoreError> {
        Ok(self.entries.len() as u64)
    }

    async fn entries_by_parent(&self, parent_id: &str) -> Result<Vec<Entry>, DatastoreError> {
        let prefix = parent_prefix(parent_id);
        let mut out = Vec::new();
        for kv in self.entry_parents.scan_prefix(&prefix) {
            let (key, _) = kv.map_err(storage)?;
            let id = &key[prefix.len()..];
            // A concurrent delete may have removed the entry since the index read.
            if let Some(v) = self.entries.get(id).map_err(storage)? {
                let entry = decode(&v)?;
                if entry.parent_id == parent_id {
                    out.push(entry);
                }
            }
        }
        Ok(out)
    }

    async fn entries_revision(&self) -> Result<u64, DatastoreError> {
        match self.meta.get(REVISION_KEY).map_err(storage)? {
            Some(v) => Ok(u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                DatastoreError::Corrupt("entries revision is not 8 bytes".into())
            })?)),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
#[path = "entries_tests.rs"]
mod tests;
