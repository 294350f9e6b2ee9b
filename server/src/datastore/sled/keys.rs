//! Index keys: `owner \0 id`, scanned by the `owner \0` prefix (IDs never contain `\0`
//! where they are used as owners; stores that cannot rule it out check the record).

/// `owner \0`: the prefix of every index key under `owner`.
pub(super) fn prefix(owner: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len() + 1);
    key.extend_from_slice(owner.as_bytes());
    key.push(0);
    key
}

/// `owner \0 id`.
pub(super) fn pair(owner: &str, id: &str) -> Vec<u8> {
    let mut key = prefix(owner);
    key.extend_from_slice(id.as_bytes());
    key
}
