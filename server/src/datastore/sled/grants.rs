//! Grants (refresh-token families) on sled.
//!
//! Trees: `grants` (grant ID → JSON [`GrantRecord`]), `refresh_tokens` (hex SHA-256 → JSON
//! [`RefreshTokenRecord`]; never the token), `grant_tokens` (`grant_id \0 generation(BE)` →
//! hash: a family's hashes, to delete them with it), `grants_by_user` and
//! `grants_by_client` (`owner \0 grant_id` → empty). Creation and rotation each run in one
//! multi-tree transaction; a rotation is a compare-and-swap on the grant's generation.

use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{SledStore, storage};
use crate::datastore::{DatastoreError, GrantRecord, GrantStore, RefreshTokenRecord, Rotation};

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DatastoreError> {
    serde_json::to_vec(value).map_err(|e| DatastoreError::Corrupt(format!("encoding a grant: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DatastoreError> {
    serde_json::from_slice(bytes).map_err(|e| DatastoreError::Corrupt(format!("grant record: {e}")))
}

fn finish<T>(result: Result<T, TransactionError<DatastoreError>>) -> Result<T, DatastoreError> {
    match result {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(storage(e)),
    }
}

fn abort(e: DatastoreError) -> ConflictableTransactionError<DatastoreError> {
    ConflictableTransactionError::Abort(e)
}

/// `owner \0 id`: an index key.
fn pair(owner: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len() + id.len() + 1);
    key.extend_from_slice(owner.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

fn prefix(owner: &str) -> Vec<u8> {
    let mut key = owner.as_bytes().to_vec();
    key.push(0);
    key
}

fn family_key(grant_id: &str, generation: u64) -> Vec<u8> {
    let mut key = prefix(grant_id);
    key.extend_from_slice(&generation.to_be_bytes());
    key
}

impl SledStore {
    /// Deletes a grant and its index entries in one transaction, then its family's hashes
    /// (a hash left behind by a racing rotation points at no grant: it is refused anyway).
    /// Not flushed.
    fn remove_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        let key = grant_id.as_bytes();
        let result = (&self.grants, &self.grants_by_user, &self.grants_by_client).transaction(
            |(grants, by_user, by_client)| {
                let Some(old) = grants.remove(key)? else {
                    return Ok(false);
                };
                let old: GrantRecord = decode(&old).map_err(abort)?;
                by_user.remove(pair(&old.user_id, grant_id))?;
                by_client.remove(pair(&old.client_id, grant_id))?;
                Ok(true)
            },
        );
        let existed = finish(result)?;
        for item in self.grant_tokens.scan_prefix(prefix(grant_id)) {
            let (family_key, hash) = item.map_err(storage)?;
            self.refresh_tokens.remove(&hash).map_err(storage)?;
            self.grant_tokens.remove(family_key).map_err(storage)?;
        }
        Ok(existed)
    }

    /// Deletes every grant listed under `owner` in `index`.
    async fn remove_indexed(&self, index: &sled::Tree, owner: &str) -> Result<u64, DatastoreError> {
        let start = prefix(owner);
        let mut ids = Vec::new();
        for item in index.scan_prefix(&start) {
            let (key, _) = item.map_err(storage)?;
            let id = String::from_utf8_lossy(&key[start.len()..]).into_owned();
            ids.push(id);
        }
        let mut removed = 0u64;
        for id in ids {
            if self.remove_grant(&id)? {
                removed += 1;
            }
        }
        self.flush().await?;
        Ok(removed)
    }
}

impl GrantStore for SledStore {
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        token_hash: &str,
    ) -> Result<(), DatastoreError> {
        let value = encode(grant)?;
        let token = encode(&RefreshTokenRecord {
            grant_id: grant.grant_id.clone(),
            generation: grant.generation,
        })?;
        let id = grant.grant_id.as_bytes();
        let result = (
            &self.grants,
            &self.refresh_tokens,
            &self.grant_tokens,
            &self.grants_by_user,
            &self.grants_by_client,
        )
            .transaction(|(grants, tokens, family, by_user, by_client)| {
                if grants.get(id)?.is_some() || tokens.get(token_hash.as_bytes())?.is_some() {
                    return Err(abort(DatastoreError::AlreadyExists(format!(
                        "grant {}",
                        grant.grant_id
                    ))));
                }
                grants.insert(id, value.as_slice())?;
                tokens.insert(token_hash.as_bytes(), token.as_slice())?;
                family.insert(
                    family_key(&grant.grant_id, grant.generation),
                    token_hash.as_bytes(),
                )?;
                by_user.insert(pair(&grant.user_id, &grant.grant_id), &[][..])?;
                by_client.insert(pair(&grant.client_id, &grant.grant_id), &[][..])?;
                Ok(())
            });
        finish(result)?;
        self.flush().await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRecord, Option<GrantRecord>)>, DatastoreError> {
        let Some(token) = self
            .refresh_tokens
            .get(token_hash.as_bytes())
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let token: RefreshTokenRecord = decode(&token)?;
        let grant = self.get_grant(&token.grant_id).await?;
        Ok(Some((token, grant)))
    }

    async fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>, DatastoreError> {
        self.grants
            .get(grant_id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<Option<GrantRecord>, DatastoreError> {
        let next = rotation.expected_generation.saturating_add(1);
        let token = encode(&RefreshTokenRecord {
            grant_id: rotation.grant_id.to_owned(),
            generation: next,
        })?;
        let id = rotation.grant_id.as_bytes();
        let result = (&self.grants, &self.refresh_tokens, &self.grant_tokens).transaction(
            |(grants, tokens, family)| {
                let Some(stored) = grants.get(id)? else {
                    return Ok(None);
                };
                let mut grant: GrantRecord = decode(&stored).map_err(abort)?;
                if grant.generation != rotation.expected_generation {
                    return Ok(None);
                }
                let Some(presented) = tokens.get(rotation.old_hash.as_bytes())? else {
                    return Ok(None);
                };
                let presented: RefreshTokenRecord = decode(&presented).map_err(abort)?;
                if presented.grant_id != rotation.grant_id
                    || presented.generation != rotation.expected_generation
                {
                    return Ok(None);
                }
                grant.generation = next;
                grant.rotated_at = rotation.now;
                grants.insert(id, encode(&grant).map_err(abort)?)?;
                tokens.insert(rotation.new_hash.as_bytes(), token.as_slice())?;
                family.insert(
                    family_key(rotation.grant_id, next),
                    rotation.new_hash.as_bytes(),
                )?;
                Ok(Some(grant))
            },
        );
        let rotated = finish(result)?;
        if rotated.is_some() {
            self.flush().await?;
        }
        Ok(rotated)
    }

    async fn delete_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        let existed = self.remove_grant(grant_id)?;
        self.flush().await?;
        Ok(existed)
    }

    async fn delete_user_grants(&self, user_id: &str) -> Result<u64, DatastoreError> {
        self.remove_indexed(&self.grants_by_user, user_id).await
    }

    async fn delete_client_grants(&self, client_id: &str) -> Result<u64, DatastoreError> {
        self.remove_indexed(&self.grants_by_client, client_id).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sled_passes_the_grant_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        crate::datastore::grant_store_tests::exercise(&store).await;
    }
}
