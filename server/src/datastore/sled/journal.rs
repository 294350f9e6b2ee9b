//! CA journals on sled: `revision (8 bytes BE) || data`, keyed by server ID, committed in
//! one transaction with the bundle.

use prost::Message as _;
use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::bundles::check_sequence;
use super::{SledStore, storage};
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
    use tessera_proto::wire::tessera::types::v1::Bundle;

    use super::*;
    use crate::datastore::BundleStore;

    #[tokio::test]
    async fn journal_and_bundle_commit_together_with_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.load_journal("s1").await.unwrap().is_none());
        let bundle = Bundle {
            trust_domain: "example.org".into(),
            sequence: 1,
            ..Bundle::default()
        };
        let write = BundleWrite {
            bundle: &bundle,
            expected_sequence: None,
        };
        assert_eq!(
            store
                .commit_journal("s1", None, b"j1", Some(write))
                .await
                .unwrap(),
            1
        );
        // A stale revision conflicts and writes nothing, not even the bundle.
        let newer = Bundle {
            sequence: 2,
            ..bundle.clone()
        };
        let write2 = BundleWrite {
            bundle: &newer,
            expected_sequence: Some(1),
        };
        let err = store
            .commit_journal("s1", None, b"j2", Some(write2))
            .await
            .unwrap_err();
        assert!(matches!(err, DatastoreError::Conflict(_)), "{err}");
        assert_eq!(
            store
                .get_bundle("example.org")
                .await
                .unwrap()
                .unwrap()
                .sequence,
            1
        );
        // A stale bundle sequence conflicts and writes nothing, not even the journal.
        let stale = BundleWrite {
            bundle: &newer,
            expected_sequence: Some(7),
        };
        assert!(
            store
                .commit_journal("s1", Some(1), b"j2", Some(stale))
                .await
                .is_err()
        );
        assert_eq!(store.load_journal("s1").await.unwrap().unwrap().data, b"j1");
        assert_eq!(
            store
                .commit_journal("s1", Some(1), b"j2", Some(write2))
                .await
                .unwrap(),
            2
        );
        drop(store);
        let reopened = SledStore::open(dir.path()).unwrap();
        let j = reopened.load_journal("s1").await.unwrap().unwrap();
        assert_eq!((j.revision, j.data.as_slice()), (2, &b"j2"[..]));
        assert_eq!(reopened.list_bundles().await.unwrap(), vec![newer]);
    }
}
