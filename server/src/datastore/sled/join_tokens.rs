//! Join tokens on sled: key = hex SHA-256 of the token; value = `expires_at` (8 bytes,
//! big-endian i64) followed by the bound agent ID (UTF-8, possibly empty).

use super::{SledStore, storage};
use crate::datastore::{DatastoreError, JoinTokenRecord, JoinTokenStore};

fn encode(record: &JoinTokenRecord) -> Vec<u8> {
    let mut value = Vec::with_capacity(8 + record.agent_id.len());
    value.extend_from_slice(&record.expires_at.to_be_bytes());
    value.extend_from_slice(record.agent_id.as_bytes());
    value
}

fn decode(token_hash: &str, value: &[u8]) -> Result<JoinTokenRecord, DatastoreError> {
    let corrupt = || DatastoreError::Corrupt(format!("join token {token_hash}"));
    let (head, tail) = value.split_at_checked(8).ok_or_else(corrupt)?;
    let expires_at = i64::from_be_bytes(head.try_into().map_err(|_| corrupt())?);
    let agent_id = String::from_utf8(tail.to_vec()).map_err(|_| corrupt())?;
    Ok(JoinTokenRecord {
        token_hash: token_hash.to_string(),
        expires_at,
        agent_id,
    })
}

impl JoinTokenStore for SledStore {
    async fn create_join_token(&self, record: &JoinTokenRecord) -> Result<(), DatastoreError> {
        self.join_tokens
            .compare_and_swap(
                record.token_hash.as_bytes(),
                None::<&[u8]>,
                Some(encode(record)),
            )
            .map_err(storage)?
            .map_err(|_| DatastoreError::AlreadyExists("join token".into()))?;
        self.flush().await
    }

    async fn take_join_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<JoinTokenRecord>, DatastoreError> {
        // `remove` is atomic and returns the old value: of concurrent takers exactly one
        // sees `Some`.
        let Some(value) = self
            .join_tokens
            .remove(token_hash.as_bytes())
            .map_err(storage)?
        else {
            return Ok(None);
        };
        self.flush().await?;
        decode(token_hash, &value).map(Some)
    }

    async fn prune_join_tokens(&self, now: i64) -> Result<u64, DatastoreError> {
        let mut pruned = 0;
        for kv in self.join_tokens.iter() {
            let (key, value) = kv.map_err(storage)?;
            let hash = String::from_utf8_lossy(&key).into_owned();
            if decode(&hash, &value)?.expires_at <= now
                && self
                    .join_tokens
                    .compare_and_swap(&key, Some(&value), None::<&[u8]>)
                    .map_err(storage)?
                    .is_ok()
            {
                pruned += 1;
            }
        }
        self.flush().await?;
        Ok(pruned)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn record(hash: &str, expires_at: i64, agent_id: &str) -> JoinTokenRecord {
        JoinTokenRecord {
            token_hash: hash.into(),
            expires_at,
            agent_id: agent_id.into(),
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_short_values() {
        for r in [
            record("h", -5, ""),
            record("h", 1_700_000_000, "spiffe://e.org/node/1"),
        ] {
            assert_eq!(decode("h", &encode(&r)).unwrap(), r);
        }
        assert!(matches!(
            decode("h", &[1, 2, 3]),
            Err(DatastoreError::Corrupt(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exactly_one_concurrent_taker_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        for round in 0..20 {
            let hash = format!("t{round}");
            store
                .create_join_token(&record(&hash, 100, ""))
                .await
                .unwrap();
            let takers: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    let hash = hash.clone();
                    tokio::spawn(async move { store.take_join_token(&hash).await.unwrap() })
                })
                .collect();
            let mut winners = 0;
            for t in takers {
                if t.await.unwrap().is_some() {
                    winners += 1;
                }
            }
            assert_eq!(winners, 1, "round {round}");
        }
    }
}
