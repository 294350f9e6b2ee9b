//! Grants (refresh-token families) on sled.
//!
//! Trees: `grants` (grant ID → JSON [`GrantRecord`]), `refresh_tokens` (hex SHA-256 → JSON
//! [`RefreshTokenRecord`]; never the token), `grant_tokens` (`grant_id \0 hash` → hash: a
//! family's hashes, to delete them with it; older entries are keyed by generation), `grants_by_user` and
//! `grants_by_client` (`owner \0 grant_id` → empty).
//!
//! No sled transactions: in sled 0.34 each one seals and writes the log buffer twice
//! (`PageCache::pin_log`), which made every refresh cost two disk writes. Instead the grant
//! record is the single point of truth and is written last, with a compare-and-swap:
//! creation writes the token hash and index entries first and then inserts the grant if
//! absent; rotation writes the new hash (generation + 1) first and then swaps the grant
//! record from the generation it read to the next. sled's log is recovered as a prefix, so
//! a crash in between leaves at most a hash whose generation is ahead of its grant (never
//! handed out, refused as invalid — not as reuse) or index entries of no grant (skipped).
//! Deletion removes the grant first, which kills every token of the family at once.

use super::codec::{from_json, to_json};
use super::keys::{pair, prefix};
use super::{SledStore, storage};
use crate::datastore::{DatastoreError, GrantRecord, GrantStore, RefreshTokenRecord, Rotation};

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DatastoreError> {
    to_json("grant", value)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DatastoreError> {
    from_json("grant", bytes)
}

/// Keyed by hash, not generation: two racing rotations write different entries, and the
/// loser's clean-up removes only its own.
fn family_key(grant_id: &str, token_hash: &str) -> Vec<u8> {
    pair(grant_id, token_hash)
}

impl SledStore {
    /// Deletes a grant (which kills its tokens), then its index entries and its family's
    /// hashes. Not flushed.
    fn remove_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        let Some(old) = self.t.grants.remove(grant_id.as_bytes()).map_err(storage)? else {
            return Ok(false);
        };
        let old: GrantRecord = decode(&old)?;
        self.t
            .grants_by_user
            .remove(pair(&old.user_id, grant_id))
            .map_err(storage)?;
        self.t
            .grants_by_client
            .remove(pair(&old.client_id, grant_id))
            .map_err(storage)?;
        self.remove_family(grant_id)?;
        Ok(true)
    }

    /// Deletes the hashes listed for `grant_id` (a rotation racing the deletion removes
    /// its own when its swap fails).
    fn remove_family(&self, grant_id: &str) -> Result<(), DatastoreError> {
        for item in self.t.grant_tokens.scan_prefix(prefix(grant_id)) {
            let (family_key, hash) = item.map_err(storage)?;
            self.t.refresh_tokens.remove(&hash).map_err(storage)?;
            self.t.grant_tokens.remove(family_key).map_err(storage)?;
        }
        Ok(())
    }

    /// Deletes every grant listed under `owner` in `index`, and the index entries (also
    /// those a crash left without a grant).
    async fn remove_indexed(&self, index: &sled::Tree, owner: &str) -> Result<u64, DatastoreError> {
        let start = prefix(owner);
        let mut found = Vec::new();
        for item in index.scan_prefix(&start) {
            let (key, _) = item.map_err(storage)?;
            found.push(key);
        }
        let mut removed = 0u64;
        for key in found {
            let id = String::from_utf8_lossy(&key[start.len()..]).into_owned();
            if self.remove_grant(&id)? {
                removed += 1;
            } else {
                self.remove_family(&id)?;
            }
            index.remove(key).map_err(storage)?;
        }
        self.flush().await?;
        Ok(removed)
    }

    /// Writes a token record alone, as a rotation cut short by a crash leaves it (tests).
    #[cfg(test)]
    pub(crate) fn insert_token_record(
        &self,
        token_hash: &str,
        record: &RefreshTokenRecord,
    ) -> Result<(), DatastoreError> {
        self.t
            .refresh_tokens
            .insert(token_hash.as_bytes(), encode(record)?)
            .map_err(storage)?;
        Ok(())
    }

    /// Undoes the first writes of a creation or rotation whose grant swap failed.
    fn discard_token(&self, token_hash: &str, family: &[u8]) -> Result<(), DatastoreError> {
        self.t
            .refresh_tokens
            .remove(token_hash.as_bytes())
            .map_err(storage)?;
        self.t.grant_tokens.remove(family).map_err(storage)?;
        Ok(())
    }
}

/// The default: the token with its grant, then the user.
impl crate::datastore::RefreshReads for SledStore {}

impl GrantStore for SledStore {
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        token_hash: &str,
    ) -> Result<(), DatastoreError> {
        let exists = || DatastoreError::AlreadyExists(format!("grant {}", grant.grant_id));
        let value = encode(grant)?;
        let token = encode(&RefreshTokenRecord {
            grant_id: grant.grant_id.clone(),
            generation: grant.generation,
        })?;
        let id = grant.grant_id.as_bytes();
        if self.t.grants.contains_key(id).map_err(storage)? {
            return Err(exists());
        }
        let claimed = self
            .t
            .refresh_tokens
            .compare_and_swap(token_hash.as_bytes(), None::<&[u8]>, Some(token))
            .map_err(storage)?;
        if claimed.is_err() {
            return Err(exists());
        }
        let family = family_key(&grant.grant_id, token_hash);
        self.t
            .grant_tokens
            .insert(family.as_slice(), token_hash.as_bytes())
            .map_err(storage)?;
        let created = self
            .t
            .grants
            .compare_and_swap(id, None::<&[u8]>, Some(value))
            .map_err(storage)?;
        if created.is_err() {
            self.discard_token(token_hash, &family)?;
            return Err(exists());
        }
        self.t
            .grants_by_user
            .insert(pair(&grant.user_id, &grant.grant_id), &[][..])
            .map_err(storage)?;
        self.t
            .grants_by_client
            .insert(pair(&grant.client_id, &grant.grant_id), &[][..])
            .map_err(storage)?;
        self.flush().await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRecord, Option<GrantRecord>)>, DatastoreError> {
        let Some(token) = self
            .t
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
        self.t
            .grants
            .get(grant_id.as_bytes())
            .map_err(storage)?
            .map(|v| decode(&v))
            .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<Option<GrantRecord>, DatastoreError> {
        let id = rotation.grant_id.as_bytes();
        let Some(stored) = self.t.grants.get(id).map_err(storage)? else {
            return Ok(None);
        };
        let mut grant: GrantRecord = decode(&stored)?;
        if grant.generation != rotation.expected_generation {
            return Ok(None);
        }
        // Token records never change once written, so this check stays true.
        let presented = self
            .t
            .refresh_tokens
            .get(rotation.old_hash.as_bytes())
            .map_err(storage)?
            .map(|v| decode::<RefreshTokenRecord>(&v))
            .transpose()?;
        if !presented.is_some_and(|t| {
            t.grant_id == rotation.grant_id && t.generation == rotation.expected_generation
        }) {
            return Ok(None);
        }
        let next = rotation.expected_generation.saturating_add(1);
        let token = encode(&RefreshTokenRecord {
            grant_id: rotation.grant_id.to_owned(),
            generation: next,
        })?;
        let claimed = self
            .t
            .refresh_tokens
            .compare_and_swap(rotation.new_hash.as_bytes(), None::<&[u8]>, Some(token))
            .map_err(storage)?;
        if claimed.is_err() {
            return Err(DatastoreError::AlreadyExists("refresh token hash".into()));
        }
        let family = family_key(rotation.grant_id, rotation.new_hash);
        self.t
            .grant_tokens
            .insert(family.as_slice(), rotation.new_hash.as_bytes())
            .map_err(storage)?;
        grant.generation = next;
        grant.rotated_at = rotation.now;
        let swapped = self
            .t
            .grants
            .compare_and_swap(id, Some(stored), Some(encode(&grant)?))
            .map_err(storage)?;
        if swapped.is_err() {
            // A concurrent rotation or a deletion came first.
            self.discard_token(rotation.new_hash, &family)?;
            return Ok(None);
        }
        self.flush().await?;
        Ok(Some(grant))
    }

    async fn delete_grant(&self, grant_id: &str) -> Result<bool, DatastoreError> {
        let existed = self.remove_grant(grant_id)?;
        self.flush().await?;
        Ok(existed)
    }

    async fn delete_user_grants(&self, user_id: &str) -> Result<u64, DatastoreError> {
        self.remove_indexed(&self.t.grants_by_user, user_id).await
    }

    async fn delete_client_grants(&self, client_id: &str) -> Result<u64, DatastoreError> {
        self.remove_indexed(&self.t.grants_by_client, client_id)
            .await
    }

    async fn prune_grants(&self, now: i64, idle_secs: i64) -> Result<u64, DatastoreError> {
        let mut ended = Vec::new();
        for item in &self.t.grants {
            let (_, value) = item.map_err(storage)?;
            let grant: GrantRecord = decode(&value)?;
            if grant.ended(now, idle_secs) {
                ended.push(grant.grant_id);
            }
        }
        let mut removed = 0u64;
        for id in ended {
            if self.remove_grant(&id)? {
                removed += 1;
            }
        }
        if removed > 0 {
            self.flush().await?;
        }
        Ok(removed)
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
        crate::datastore::grant_store_tests::exercise_refresh_reads(&store).await;
    }
}
