//! Keyset paging over a sled tree: the page token is the last key of the previous page.

use std::ops::Bound;

use super::storage;
use crate::datastore::{DatastoreError, Page};

/// Up to `page_size` (at least 1) values after the key `page_token`, decoded with `decode`.
pub(super) fn page<T>(
    tree: &sled::Tree,
    page_token: &str,
    page_size: usize,
    decode: impl Fn(&[u8]) -> Result<T, DatastoreError>,
) -> Result<Page<T>, DatastoreError> {
    let start = if page_token.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Excluded(page_token.as_bytes())
    };
    let size = page_size.max(1);
    let mut items = Vec::with_capacity(size.min(128));
    let mut last_key = None;
    for kv in tree.range::<&[u8], _>((start, Bound::Unbounded)) {
        let (key, value) = kv.map_err(storage)?;
        if items.len() == size {
            let next_page_token = last_key
                .map(|k: sled::IVec| String::from_utf8_lossy(&k).into_owned())
                .unwrap_or_default();
            return Ok(Page {
                items,
                next_page_token,
            });
        }
        items.push(decode(&value)?);
        last_key = Some(key);
    }
    Ok(Page {
        items,
        next_page_token: String::new(),
    })
}
