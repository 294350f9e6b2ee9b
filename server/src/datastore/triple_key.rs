//! The uniqueness key of a registration entry, shared by every backend.

use aws_lc_rs::digest;
use tessera_proto::wire::tessera::types::v1::Entry;

/// SHA-256 of the (spiffe_id, parent_id, selectors) triple. Every field is length-prefixed
/// (8 bytes BE) and the selector count is hashed first, so no two triples share an input.
pub fn triple_key(entry: &Entry) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut field = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    field(entry.spiffe_id.as_bytes());
    field(entry.parent_id.as_bytes());
    field(&(entry.selectors.len() as u64).to_be_bytes());
    for s in &entry.selectors {
        field(s.r#type.as_bytes());
        field(s.value.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}
