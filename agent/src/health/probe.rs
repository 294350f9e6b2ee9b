//! The running agent's probe: the manager's latest published state, [`assess`]ed at now.

use std::sync::Arc;

use tessera_proto::clock::Clock;
use tessera_proto::health::{Probe, ProbeFuture};
use tokio::sync::watch;

use super::assess::assess;
use crate::manager::AgentState;

/// Readiness of a running agent.
#[derive(Debug)]
pub struct AgentProbe {
    state: watch::Receiver<Option<Arc<AgentState>>>,
    clock: Arc<dyn Clock>,
}

impl AgentProbe {
    /// A probe over the manager's snapshots.
    pub fn new(state: watch::Receiver<Option<Arc<AgentState>>>, clock: Arc<dyn Clock>) -> Self {
        Self { state, clock }
    }
}

impl Probe for AgentProbe {
    fn check(&self) -> ProbeFuture<'_> {
        let state = self.state.borrow().clone();
        let report = assess(self.clock.now(), state.as_deref());
        Box::pin(async move { report })
    }
}
