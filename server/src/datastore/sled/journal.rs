//! CA journals on sled: `revision (8 bytes BE) || data`, keyed by server ID, committed in
//! one transaction with the bundle.

use prost::Message as _;
use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::bundles::check_sequence;
use super::{SledStore, storage};
use crate::changes::Change;
use crate::datastore::{BundleWrite, CaJournalStore, DatastoreError, JournalBlob};

fn decode(bytes: &[u8]) -> Result<JournalBlob, DatastoreError> {
    let (rev, data) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| DatastoreError::Corrupt("CA journal shorter than its header".into()))?;
    Ok(JournalBlob {
        revision: u64::from_be_bytes(*rev),
        data: data.to_vec(),
    })
}

fn encode(revision: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&revision.to_be_bytes());
    out.extend_from_slice(data);
    out
}

impl CaJournalStore for SledStore {
    async fn load_journal(&self, server_id: &str) -> Result<Option<JournalBlob>, DatastoreError> {
        self.journals
            .get(server_id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> Result<u64, DatastoreError> {
        let new_revision = expected_revision.map_or(1, |r| r + 1);
        let result = (&self.journals, &self.bundles).transaction(|(journals, bundles)| {
            let abort = ConflictableTransactionError::Abort;
            let current = journals
                .get(server_id.as_bytes())?
                .map(|v| decode(&v).map(|j| j.revision))
                .transpose()
                .map_err(abort)?;
            if current != expected_revision {
                return Err(abort(DatastoreError::Conflict(format!(
                    "CA journal {server_id} is at revision {current:?}, expected {expected_revision:?}"
                ))));
            }
            if let Some(write) = &bundle {
                let key = write.bundle.trust_domain.as_bytes();
                let stored = bundles.get(key)?;
                check_sequence(stored.as_deref(), write).map_err(abort)?;
                bundles.insert(key, write.bundle.encode_to_vec())?;
            }
            journals.insert(server_id.as_bytes(), encode(new_revision, data))?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(storage(e)),
        }
        self.flush().await?;
        if let Some(write) = bundle {
            self.changes.announce(Change::Bundle {
                trust_domain: write.bundle.trust_domain.clone(),
            });
        }
        Ok(new_revision)
    }

    async fn list_journals(&self) -> Result<Vec<(String, JournalBlob)>, DatastoreError> {
        self.journals
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(storage)?;
                let id = String::from_utf8(k.to_vec())
                    .map_err(|_| DatastoreError::Corrupt("CA journal key is not UTF-8".into()))?;
                Ok((id, decode(&v)?))
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::datastore::BundleStore;

    #[tokio::test]
    async fn passes_the_journal_suite_and_keeps_it_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        crate::datastore::journal_store_tests::exercise(&store).await;
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        let j = reopened.load_journal("s1").await.unwrap().unwrap();
        assert_eq!((j.revision, j.data.as_slice()), (2, &b"j2"[..]));
        let bundles = reopened.list_bundles().await.unwrap();
        let sequences: Vec<_> = bundles
            .iter()
            .map(|b| (b.trust_domain.as_str(), b.sequence))
            .collect();
        assert_eq!(sequences, [("example.org", 2)]);
    }
}
