//! What every node attestor produces, and the trait they implement.

use std::future::Future;
use std::time::SystemTime;

use tessera_proto::identity::{Selector, SpiffeId};

use super::AttestationError;

/// A successful node attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// The agent's SPIFFE ID.
    pub agent_id: SpiffeId,
    /// The node's selectors (what registration entries with the agent as parent match).
    pub selectors: Vec<Selector>,
    /// Whether the agent may attest again with fresh evidence (and keep its ID).
    pub can_reattest: bool,
    /// The attestor's name, e.g. `join_token` or `k8s_psat`.
    pub attestor: &'static str,
}

/// One kind of node attestation.
pub trait NodeAttestor: Send + Sync {
    /// The attestor's name, as agents send it in `AttestationData.type`.
    fn name(&self) -> &'static str;

    /// Checks `payload` at `now`.
    fn attest(
        &self,
        payload: &[u8],
        now: SystemTime,
    ) -> impl Future<Output = Result<Attested, AttestationError>> + Send;
}
