//! The CA's OAuth key set as the token endpoint's signer.

use std::sync::Arc;
use std::time::SystemTime;

use super::http::{SignFailure, TokenSigner};
use crate::ca::{CaError, CaManager};
use crate::datastore::{BundleStore, CaJournalStore, TenantId};

/// Signs access tokens with the CA's active OAuth key; publishes (and verifies with) the
/// union of every replica's published OAuth keys.
#[derive(Debug)]
pub struct CaTokenSigner<S> {
    ca: Arc<CaManager<S>>,
    tenant: TenantId,
}

impl<S> CaTokenSigner<S> {
    /// A signer over `ca` (the default tenant's keys).
    pub fn new(ca: Arc<CaManager<S>>) -> Self {
        Self::for_tenant(ca, TenantId::default_tenant())
    }

    /// A signer with `tenant`'s keys.
    pub fn for_tenant(ca: Arc<CaManager<S>>, tenant: TenantId) -> Self {
        Self { ca, tenant }
    }
}

impl<S: CaJournalStore + BundleStore> TokenSigner for CaTokenSigner<S> {
    fn jwks(&self) -> serde_json::Value {
        if !self.tenant.is_default() {
            return serde_json::json!({ "keys": [] });
        }
        self.ca.snapshot().oauth_jwks()
    }

    fn sign(
        &self,
        now: SystemTime,
        claims: &serde_json::Map<String, serde_json::Value>,
        typ: &str,
    ) -> Result<String, SignFailure> {
        if !self.tenant.is_default() {
            return Err(SignFailure::Unavailable(format!(
                "no signing key for tenant {}",
                self.tenant
            )));
        }
        self.ca
            .snapshot()
            .sign_access_token(now, claims, typ)
            .map_err(|e| match e {
                CaError::NotReady(_) => SignFailure::Unavailable(e.to_string()),
                other => SignFailure::Failed(other.to_string()),
            })
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        if !self.tenant.is_default() {
            return None;
        }
        self.ca.snapshot().oauth_signing_deadline()
    }
}
