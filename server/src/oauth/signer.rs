//! The CA's OAuth key set of one tenant as that tenant's token-endpoint signer.

use std::sync::Arc;
use std::time::SystemTime;

use super::http::{SignFailure, TokenSigner};
use crate::ca::{CaError, CaManager, DEFAULT_TENANT};
use crate::datastore::{BundleStore, CaJournalStore};

/// Signs access tokens with the CA's active OAuth key of one tenant; publishes (and
/// verifies with) the union of every replica's published OAuth keys of that tenant only.
#[derive(Debug)]
pub struct CaTokenSigner<S> {
    ca: Arc<CaManager<S>>,
    tenant: String,
}

impl<S> CaTokenSigner<S> {
    /// The signer of the `default` tenant (the CA's original OAuth keys).
    pub fn new(ca: Arc<CaManager<S>>) -> Self {
        Self::for_tenant(ca, DEFAULT_TENANT.to_string())
    }

    /// The signer of `tenant`. Until the CA holds keys for it (see
    /// [`CaManager::set_tenants`]) its JWKS is empty and signing answers `Unavailable`.
    pub fn for_tenant(ca: Arc<CaManager<S>>, tenant: String) -> Self {
        Self { ca, tenant }
    }

    /// The tenant it signs for.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

impl<S: CaJournalStore + BundleStore> TokenSigner for CaTokenSigner<S> {
    fn jwks(&self) -> serde_json::Value {
        self.ca
            .snapshot()
            .oauth_jwks_for(&self.tenant)
            .unwrap_or_else(|| serde_json::json!({ "keys": [] }))
    }

    fn sign(
        &self,
        now: SystemTime,
        claims: &serde_json::Map<String, serde_json::Value>,
        typ: &str,
    ) -> Result<String, SignFailure> {
        self.ca
            .snapshot()
            .sign_access_token_for(&self.tenant, now, claims, typ)
            .map_err(|e| match e {
                CaError::NotReady(_) => SignFailure::Unavailable(e.to_string()),
                other => SignFailure::Failed(other.to_string()),
            })
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        self.ca.snapshot().oauth_signing_deadline_for(&self.tenant)
    }
}
