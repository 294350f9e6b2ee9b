//! A small HPACK (RFC 7541) decoder that mirrors the client's encoder state, and an encoder that
//! only emits literals without indexing (so the receiver's dynamic table is never used).

use std::collections::VecDeque;

use super::huffman;

/// RFC 7541 Appendix A: the static table (index 1 is the first entry).
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Per-entry overhead counted in the table size (RFC 7541 §4.1).
const ENTRY_OVERHEAD: usize = 32;

/// Largest integer we accept; anything larger is an error (HPACK integers in practice are small).
const MAX_INTEGER: u64 = (1 << 28) - 1;

/// Why a header block could not be decoded. The adapter never guesses: it passes such a block
/// through unchanged and stops rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HpackError {
    /// The block ended in the middle of a representation.
    Truncated,
    /// An integer larger than we accept.
    IntegerOverflow,
    /// Index 0, or an index past the end of the static + dynamic tables.
    BadIndex,
    /// A Huffman-coded string was invalid.
    Huffman(huffman::HuffmanError),
    /// A dynamic table size update above the allowed maximum, or after a header field.
    BadSizeUpdate,
    /// The decoded header list exceeds the configured limit.
    ListTooLarge,
}

/// One decoded header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// Field name (bytes as sent).
    pub(crate) name: Vec<u8>,
    /// Field value (bytes as sent).
    pub(crate) value: Vec<u8>,
    /// Sent as "never indexed" (sensitive): keep that representation when re-encoding.
    pub(crate) never_indexed: bool,
}

impl Field {
    /// The field's size as counted by HPACK (name + value + 32).
    pub(crate) fn size(&self) -> usize {
        self.name.len() + self.value.len() + ENTRY_OVERHEAD
    }
}

/// Reads the byte at `pos`, or fails with [`HpackError::Truncated`].
fn byte_at(input: &[u8], pos: usize) -> Result<u8, HpackError> {
    input.get(pos).copied().ok_or(HpackError::Truncated)
}

/// Decodes an integer with an `prefix_bits`-bit prefix starting at `*pos` (RFC 7541 §5.1).
pub(crate) fn decode_integer(
    input: &[u8],
    pos: &mut usize,
    prefix_bits: u8,
) -> Result<u64, HpackError> {
    let mask = u8::try_from((1u16 << prefix_bits) - 1).map_err(|_| HpackError::IntegerOverflow)?;
    let first = byte_at(input, *pos)? & mask;
    *pos += 1;
    let mut value = u64::from(first);
    if first < mask {
        return Ok(value);
    }
    let mut shift = 0u32;
    loop {
        let b = byte_at(input, *pos)?;
        *pos += 1;
        value += u64::from(b & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(HpackError::IntegerOverflow);
        }
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            return Err(HpackError::IntegerOverflow);
        }
    }
}

/// Encodes `value` with an `prefix_bits`-bit prefix; `first_bits` holds the representation's
/// pattern bits above the prefix.
pub(crate) fn encode_integer(out: &mut Vec<u8>, first_bits: u8, prefix_bits: u8, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(first_bits | (value as u8));
        return;
    }
    out.push(first_bits | (max as u8));
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Decodes a string literal (RFC 7541 §5.2) starting at `*pos`.
pub(crate) fn decode_string(input: &[u8], pos: &mut usize) -> Result<Vec<u8>, HpackError> {
    let huffman_coded = byte_at(input, *pos)? & 0x80 != 0;
    let len =
        usize::try_from(decode_integer(input, pos, 7)?).map_err(|_| HpackError::IntegerOverflow)?;
    let end = pos.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = input.get(*pos..end).ok_or(HpackError::Truncated)?;
    *pos = end;
    if huffman_coded {
        let mut out = Vec::with_capacity(len + len / 2);
        huffman::decode(raw, &mut out).map_err(HpackError::Huffman)?;
        Ok(out)
    } else {
        Ok(raw.to_vec())
    }
}

/// Encodes a string literal without Huffman coding.
fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    encode_integer(out, 0x00, 7, s.len());
    out.extend_from_slice(s);
}

/// The decoder: the client's dynamic table, mirrored.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// Newest entry first.
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// Current size (sum of entry sizes).
    size: usize,
    /// Current maximum size, as last set by the encoder.
    max_size: usize,
    /// The largest size the encoder may set (our SETTINGS_HEADER_TABLE_SIZE).
    limit: usize,
}

impl Decoder {
    /// A decoder whose table starts at, and may never exceed, `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            size: 0,
            max_size: limit,
            limit,
        }
    }

    /// Current dynamic table size in bytes.
    #[cfg(test)]
    pub(crate) fn table_size(&self) -> usize {
        self.size
    }

    /// Dynamic table entries, newest first.
    #[cfg(test)]
    pub(crate) fn table(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + ENTRY_OVERHEAD,
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max_size {
            // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.entries.push_front((name, value));
        self.size += size;
    }

    /// Looks up a (1-based) index in the static then dynamic table.
    fn lookup(&self, index: u64) -> Result<(Vec<u8>, Vec<u8>), HpackError> {
        let index = usize::try_from(index).map_err(|_| HpackError::BadIndex)?;
        if index == 0 {
            return Err(HpackError::BadIndex);
        }
        if let Some((n, v)) = STATIC_TABLE.get(index - 1) {
            return Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
        self.entries
            .get(index - 1 - STATIC_TABLE.len())
            .cloned()
            .ok_or(HpackError::BadIndex)
    }

    /// Decodes one complete header block, updating the dynamic table. `max_list` bounds the
    /// decoded list size (sum of [`Field::size`]).
    pub(crate) fn decode(
        &mut self,
        block: &[u8],
        max_list: usize,
    ) -> Result<Vec<Field>, HpackError> {
        let mut fields = Vec::new();
        let mut list_size = 0usize;
        let mut pos = 0usize;
        while pos < block.len() {
            let first = byte_at(block, pos)?;
            let field = if first & 0x80 != 0 {
                // Indexed header field (§6.1).
                let (name, value) = self.lookup(decode_integer(block, &mut pos, 7)?)?;
                Field {
                    name,
                    value,
                    never_indexed: false,
                }
            } else if first & 0xc0 == 0x40 {
                // Literal with incremental indexing (§6.2.1).
                let (name, value) = self.literal(block, &mut pos, 6)?;
                self.insert(name.clone(), value.clone());
                Field {
                    name,
                    value,
                    never_indexed: false,
                }
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3): only before the first field.
                if !fields.is_empty() {
                    return Err(HpackError::BadSizeUpdate);
                }
                let new_max = usize::try_from(decode_integer(block, &mut pos, 5)?)
                    .map_err(|_| HpackError::BadSizeUpdate)?;
                if new_max > self.limit {
                    return Err(HpackError::BadSizeUpdate);
                }
                self.max_size = new_max;
                self.evict_to(new_max);
                continue;
            } else {
                // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
                let never_indexed = first & 0xf0 == 0x10;
                let (name, value) = self.literal(block, &mut pos, 4)?;
                Field {
                    name,
                    value,
                    never_indexed,
                }
            };
            list_size = list_size.saturating_add(field.size());
            if list_size > max_list {
                return Err(HpackError::ListTooLarge);
            }
            fields.push(field);
        }
        Ok(fields)
    }

    /// A literal representation: indexed or new name, then the value.
    fn literal(
        &self,
        block: &[u8],
        pos: &mut usize,
        prefix_bits: u8,
    ) -> Result<(Vec<u8>, Vec<u8>), HpackError> {
        let index = decode_integer(block, pos, prefix_bits)?;
        let name = if index == 0 {
            decode_string(block, pos)?
        } else {
            self.lookup(index)?.0
        };
        let value = decode_string(block, pos)?;
        Ok((name, value))
    }
}

/// Encodes `fields` as literals without indexing (never-indexed ones stay never indexed),
/// using a static-table name index when there is one and no Huffman coding. When
/// `reset_table` is set, the block starts with a dynamic table size update to 0.
pub(crate) fn encode_without_indexing(fields: &[Field], reset_table: bool, out: &mut Vec<u8>) {
    if reset_table {
        encode_integer(out, 0x20, 5, 0);
    }
    for field in fields {
        let pattern = if field.never_indexed { 0x10 } else { 0x00 };
        let name_index = STATIC_TABLE
            .iter()
            .position(|(n, _)| n.as_bytes() == field.name.as_slice());
        match name_index {
            Some(i) => encode_integer(out, pattern, 4, i + 1),
            None => {
                out.push(pattern);
                encode_string(out, &field.name);
            }
        }
        encode_string(out, &field.value);
    }
}
