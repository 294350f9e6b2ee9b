//! Which cached entries a caller holds: those whose selectors are all among the caller's.

use std::collections::HashSet;
use std::time::SystemTime;

use tessera_proto::identity::Selector;
use tessera_proto::wire::tessera::types::v1::Entry;

use crate::manager::AgentState;
use crate::x509::SvidWithKey;

/// One identity of a caller: a matching entry and its current X.509-SVID.
#[derive(Debug, Clone, Copy)]
pub struct CallerIdentity<'a> {
    /// The registration entry.
    pub entry: &'a Entry,
    /// Its SVID (valid at the time of matching).
    pub svid: &'a SvidWithKey,
}

/// The caller's identities in `state`: entries with at least one selector, every selector of
/// which (compared as `type:value`) is among `selectors`, holding an SVID not expired at
/// `now`.
///
/// Order (the first is the default identity): oldest entry first (`created_at`), then entry
/// ID — stable across syncs, and a newly registered entry never displaces the default.
pub fn caller_identities<'a>(
    state: &'a AgentState,
    selectors: &[Selector],
    now: SystemTime,
) -> Vec<CallerIdentity<'a>> {
    let have: HashSet<String> = selectors.iter().map(ToString::to_string).collect();
    let mut found: Vec<CallerIdentity<'a>> = state
        .entries
        .iter()
        .filter(|cached| {
            !cached.entry.selectors.is_empty()
                && cached
                    .entry
                    .selectors
                    .iter()
                    .all(|s| have.contains(&format!("{}:{}", s.r#type, s.value)))
        })
        .filter_map(|cached| {
            let svid = cached.svid.as_deref()?;
            (!svid.is_expired(now)).then_some(CallerIdentity {
                entry: &cached.entry,
                svid,
            })
        })
        .collect();
    found.sort_by(|a, b| (a.entry.created_at, &a.entry.id).cmp(&(b.entry.created_at, &b.entry.id)));
    found
}
