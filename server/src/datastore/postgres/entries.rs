//! Registration entries: prost `Entry` plus the columns the indexes use (parent, SPIFFE ID,
//! `type:value` selectors, the triple digest). Every write bumps the one-row
//! `entries_revision` in its transaction.

use prost::Message as _;
use sqlx::PgConnection;
use tessera_proto::wire::tessera::types::v1::Entry;

use super::PgStore;
use super::errors::{
    db_error, from_proto, has_nul, limit, nul_key, page_of, to_u64, violated_constraint,
};
use crate::datastore::{DatastoreError, EntryFilter, EntryStore, Page, triple_key};

fn selectors(entry: &Entry) -> Vec<String> {
    entry
        .selectors
        .iter()
        .map(|s| format!("{}:{}", s.r#type, s.value))
        .collect()
}

fn decode(data: &[u8]) -> Result<Entry, DatastoreError> {
    from_proto("entry", data)
}

fn check_keys(entry: &Entry) -> Result<(), DatastoreError> {
    let mut keys = vec![
        entry.id.as_str(),
        entry.spiffe_id.as_str(),
        entry.parent_id.as_str(),
    ];
    keys.extend(
        entry
            .selectors
            .iter()
            .flat_map(|s| [s.r#type.as_str(), s.value.as_str()]),
    );
    if has_nul(&keys) {
        return Err(nul_key("entry"));
    }
    Ok(())
}

/// A unique violation as the error the trait promises.
fn duplicate(entry: &Entry, e: sqlx::Error) -> DatastoreError {
    match violated_constraint(&e).as_deref() {
        Some("entries_pkey") => {
            DatastoreError::AlreadyExists(format!("entry ID {} already exists", entry.id))
        }
        Some(_) => DatastoreError::AlreadyExists(
            "an entry with the same SPIFFE ID, parent ID and selectors already exists".into(),
        ),
        None => db_error("entry", e),
    }
}

/// Bumps the entries revision (locking its row until the transaction ends).
async fn bump(conn: &mut PgConnection) -> Result<u64, DatastoreError> {
    let (revision,): (i64,) = sqlx::query_as(
        "UPDATE entries_revision SET revision = revision + 1 WHERE singleton RETURNING revision",
    )
    .fetch_one(conn)
    .await
    .map_err(|e| db_error("entries revision", e))?;
    to_u64("entries revision", revision)
}

/// Inserts `stored` (revision already set).
async fn insert(conn: &mut PgConnection, stored: &Entry) -> Result<(), DatastoreError> {
    sqlx::query(
        "INSERT INTO entries (id, spiffe_id, parent_id, selectors, triple, revision, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&stored.id)
    .bind(&stored.spiffe_id)
    .bind(&stored.parent_id)
    .bind(selectors(stored))
    .bind(triple_key(stored))
    .bind(super::errors::to_i64("entry revision", stored.revision)?)
    .bind(stored.encode_to_vec())
    .execute(conn)
    .await
    .map_err(|e| duplicate(stored, e))?;
    Ok(())
}

impl EntryStore for PgStore {
    async fn create_entry(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        if entry.id.is_empty() {
            return Err(DatastoreError::Corrupt("entry without an ID".into()));
        }
        check_keys(&entry)?;
        let err = |e| db_error("entry", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let mut stored = entry;
        stored.revision = bump(&mut tx).await?;
        insert(&mut tx, &stored).await?;
        tx.commit().await.map_err(err)?;
        Ok(stored)
    }

    async fn update_entry(&self, entry: Entry) -> Result<Entry, DatastoreError> {
        check_keys(&entry)?;
        let err = |e| db_error("entry", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let old: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM entries WHERE id = $1 FOR UPDATE")
                .bind(&entry.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some((old,)) = old else {
            return Err(DatastoreError::NotFound(format!("entry {}", entry.id)));
        };
        let old = decode(&old)?;
        let mut stored = entry;
        stored.created_at = old.created_at;
        stored.revision = bump(&mut tx).await?;
        sqlx::query(
            "UPDATE entries SET spiffe_id = $2, parent_id = $3, selectors = $4, triple = $5, \
             revision = $6, data = $7 WHERE id = $1",
        )
        .bind(&stored.id)
        .bind(&stored.spiffe_id)
        .bind(&stored.parent_id)
        .bind(selectors(&stored))
        .bind(triple_key(&stored))
        .bind(super::errors::to_i64("entry revision", stored.revision)?)
        .bind(stored.encode_to_vec())
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate(&stored, e))?;
        tx.commit().await.map_err(err)?;
        Ok(stored)
    }

    async fn delete_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        if has_nul(&[id]) {
            return Ok(None);
        }
        let err = |e| db_error("entry", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let old: Option<(Vec<u8>,)> =
            sqlx::query_as("DELETE FROM entries WHERE id = $1 RETURNING data")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some((old,)) = old else {
            return Ok(None);
        };
        let old = decode(&old)?;
        bump(&mut tx).await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(old))
    }

    async fn get_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        if has_nul(&[id]) {
            return Ok(None);
        }
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM entries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("entry", e))?;
        row.map(|(data,)| decode(&data)).transpose()
    }

    async fn list_entries(
        &self,
        filter: &EntryFilter,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<Entry>, DatastoreError> {
        let mut keys: Vec<&str> = vec![page_token];
        keys.extend(filter.spiffe_id.as_deref());
        keys.extend(filter.parent_id.as_deref());
        keys.extend(filter.selectors.iter().map(String::as_str));
        if has_nul(&keys) {
            return Ok(Page::default());
        }
        // The SQL narrows (indexes on parent, SPIFFE ID and selectors); `matches` has the
        // last word, so every backend filters alike.
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, data FROM entries \
             WHERE id > $1 \
               AND ($2::text IS NULL OR spiffe_id = $2) \
               AND ($3::text IS NULL OR parent_id = $3) \
               AND selectors @> $4::text[] \
             ORDER BY id LIMIT $5",
        )
        .bind(page_token)
        .bind(filter.spiffe_id.as_deref())
        .bind(filter.parent_id.as_deref())
        .bind(&filter.selectors)
        .bind(limit(page_size))
        .fetch_all(&self.stale_reads)
        .await
        .map_err(|e| db_error("entries", e))?;
        let rows = rows
            .into_iter()
            .map(|(id, data)| decode(&data).map(|e| (id, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut page = page_of(rows, page_size.max(1));
        page.items.retain(|e| filter.matches(e));
        Ok(page)
    }

    async fn count_entries(&self) -> Result<u64, DatastoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM entries")
            .fetch_one(&self.stale_reads)
            .await
            .map_err(|e| db_error("entries", e))?;
        to_u64("entry count", n)
    }

    async fn entries_by_parent(&self, parent_id: &str) -> Result<Vec<Entry>, DatastoreError> {
        if has_nul(&[parent_id]) {
            return Ok(Vec::new());
        }
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM entries WHERE parent_id = $1 ORDER BY id")
                .bind(parent_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("entries", e))?;
        rows.iter().map(|(data,)| decode(data)).collect()
    }

    async fn entries_by_parents(
        &self,
        parent_ids: &[String],
    ) -> Result<Vec<Entry>, DatastoreError> {
        // A NUL byte cannot be stored, so such a parent has no children.
        let ids: Vec<&str> = parent_ids
            .iter()
            .map(String::as_str)
            .filter(|id| !has_nul(&[id]))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM entries WHERE parent_id = ANY($1) ORDER BY id")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("entries", e))?;
        rows.iter().map(|(data,)| decode(data)).collect()
    }

    async fn entries_revision(&self) -> Result<u64, DatastoreError> {
        let (revision,): (i64,) =
            sqlx::query_as("SELECT revision FROM entries_revision WHERE singleton")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| db_error("entries revision", e))?;
        to_u64("entries revision", revision)
    }
}
