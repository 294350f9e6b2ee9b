//! Paging the authorized entries: bounded pages (count and bytes), full entries only for
//! those changed since the agent's revision.

use prost::Message as _;
use tessera_proto::wire::tessera::agent::v1::{EntryRevision, SyncEntriesResponse};
use tessera_proto::wire::tessera::types::v1::Entry;

/// Default entries per page.
pub const DEFAULT_PAGE: usize = 500;
/// Most entries per page.
pub const MAX_PAGE: usize = 1000;
/// Most bytes of full entries per page: far below any gRPC message limit.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// One page of `authorized` (sorted by ID) after `page_token` (an entry ID; empty for the
/// first page).
pub fn page(
    authorized: &[Entry],
    since_revision: u64,
    page_token: &str,
    page_size: u32,
    revision: u64,
) -> SyncEntriesResponse {
    let limit = match usize::try_from(page_size).unwrap_or(MAX_PAGE) {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let start = if page_token.is_empty() {
        0
    } else {
        authorized.partition_point(|e| e.id.as_str() <= page_token)
    };
    let mut out = SyncEntriesResponse {
        revision,
        ..SyncEntriesResponse::default()
    };
    let mut bytes = 0;
    let mut last = None;
    for entry in authorized.iter().skip(start) {
        if out.authorized.len() == limit {
            break;
        }
        if entry.revision > since_revision {
            let size = entry.encoded_len();
            if bytes + size > MAX_PAGE_BYTES && !out.authorized.is_empty() {
                break;
            }
            bytes += size;
            out.entries.push(entry.clone());
        }
        out.authorized.push(EntryRevision {
            id: entry.id.clone(),
            revision: entry.revision,
        });
        last = Some(entry.id.clone());
    }
    let consumed = start + out.authorized.len();
    if consumed < authorized.len() {
        out.next_page_token = last.unwrap_or_default();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                id: format!("{i:05}"),
                revision: i as u64 + 1,
                spiffe_id: "spiffe://example.org/w".into(),
                ..Entry::default()
            })
            .collect()
    }

    fn all_pages(list: &[Entry], since: u64, size: u32) -> (Vec<String>, usize, usize) {
        let (mut ids, mut full, mut pages) = (Vec::new(), 0, 0);
        let mut token = String::new();
        loop {
            let p = page(list, since, &token, size, 99);
            pages += 1;
            full += p.entries.len();
            ids.extend(p.authorized.iter().map(|a| a.id.clone()));
            if p.next_page_token.is_empty() {
                return (ids, full, pages);
            }
            token = p.next_page_token;
        }
    }

    #[test]
    fn pages_cover_every_entry_once_and_only_changes_in_full() {
        let list = entries(2503);
        let (ids, full, pages) = all_pages(&list, 0, 0);
        assert_eq!(ids.len(), 2503);
        assert_eq!(full, 2503);
        assert_eq!(pages, 6);
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(sorted, ids);
        let (ids, full, _) = all_pages(&list, 2000, 5000);
        assert_eq!(ids.len(), 2503);
        assert_eq!(full, 503);
    }

    #[test]
    fn big_entries_split_pages_by_bytes() {
        let mut list = entries(40);
        for e in &mut list {
            e.hint = "x".repeat(100 * 1024);
        }
        let p = page(&list, 0, "", 1000, 1);
        assert!(p.entries.len() < 40);
        assert!(p.encoded_len() <= MAX_PAGE_BYTES + 200 * 1024);
        let (ids, full, _) = all_pages(&list, 0, 1000);
        assert_eq!((ids.len(), full), (40, 40));
    }

    #[test]
    fn an_empty_set_is_one_empty_page() {
        let p = page(&[], 0, "", 10, 7);
        assert!(p.authorized.is_empty() && p.next_page_token.is_empty());
        assert_eq!(p.revision, 7);
    }
}
