//! The published snapshot.

use std::sync::Arc;

use tessera_proto::wire::tessera::types::v1::{Bundle, Entry};

use crate::x509::SvidWithKey;

/// Everything the Workload API needs, replaced as a whole after each successful round.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentState {
    /// The agent's SPIFFE ID.
    pub agent_id: String,
    /// The trust domain's bundle (with taint marks).
    pub bundle: Bundle,
    /// Bundles of federated trust domains.
    pub federated_bundles: Vec<Bundle>,
    /// Every entry authorized for this agent, by ID order.
    pub entries: Vec<CachedEntry>,
}

/// An authorized entry and its current X.509-SVID.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEntry {
    /// The registration entry (shared by the snapshots that hold it).
    pub entry: Arc<Entry>,
    /// Its current SVID; `None` until issued (or when issuance failed and no valid one is
    /// left).
    pub svid: Option<Arc<SvidWithKey>>,
}
