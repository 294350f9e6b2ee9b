//! The two small things the Workload API needs from the rest of the agent, as traits so
//! tests swap in fakes: the caller's selectors and JWT-SVID minting.

use std::future::Future;

use tessera_proto::identity::Selector;
use tessera_proto::wire::tessera::types::v1::JwtSvid;

use crate::attestor::workload::{Caller, WorkloadAttestError, WorkloadAttestors};
use crate::client::{AgentApi, ClientError};

/// The selectors of the process calling the Workload API.
pub trait CallerSelectors: Send + Sync + 'static {
    /// Every selector of `caller`; a process nothing is known about yields an empty list.
    fn selectors(
        &self,
        caller: Caller,
    ) -> impl Future<Output = Result<Vec<Selector>, WorkloadAttestError>> + Send;

    /// Whether `caller` is still the process pinned at accept (cheap: no attestor runs);
    /// `ProcessChanged` when it is not. Checked before every call that reuses the
    /// connection's selectors, and by streams on every update.
    fn still_there(&self, caller: Caller) -> Result<(), WorkloadAttestError>;
}

impl CallerSelectors for WorkloadAttestors {
    fn selectors(
        &self,
        caller: Caller,
    ) -> impl Future<Output = Result<Vec<Selector>, WorkloadAttestError>> + Send {
        self.attest(caller)
    }

    fn still_there(&self, caller: Caller) -> Result<(), WorkloadAttestError> {
        WorkloadAttestors::still_there(self, caller)
    }
}

/// Mints JWT-SVIDs for cached entries (the server signs them).
pub trait JwtMinter: Send + Sync + 'static {
    /// A new JWT-SVID for `entry_id` and `audience` (not cached).
    fn mint_jwt_svid(
        &self,
        entry_id: &str,
        audience: Vec<String>,
    ) -> impl Future<Output = Result<JwtSvid, ClientError>> + Send;
}

impl JwtMinter for AgentApi {
    fn mint_jwt_svid(
        &self,
        entry_id: &str,
        audience: Vec<String>,
    ) -> impl Future<Output = Result<JwtSvid, ClientError>> + Send {
        self.new_jwt_svid(entry_id, audience)
    }
}
