//! The CA's OAuth key set as the token endpoint's signer.

use std::sync::Arc;
use std::time::SystemTime;

use super::http::{SignFailure, TokenSigner};
use crate::ca::{CaError, CaManager};
use crate::datastore::{BundleStore, CaJournalStore};

/// Signs access tokens with the CA's active OAuth key; publishes (and verifies with) the
/// union of every replica's published OAuth keys.
#[derive(Debug)]
pub struct CaTokenSigner<S> {
    ca: Arc<CaManager<S>>,
}

impl<S> CaTokenSigner<S> {
    /// A signer over `ca`.
    pub fn new(ca: Arc<CaManager<S>>) -> Self {
        Self { ca }
    }
}

impl<S: CaJournalStore + BundleStore> TokenSigner for CaTokenSigner<S> {
    fn jwks(&self) -> serde_json::Value {
        self.ca.snapshot().oauth_jwks()
    }

    fn sign(
        &self,
        now: SystemTime,
        claims: &serde_json::Map<String, serde_json::Value>,
        typ: &str,
    ) -> Result<String, SignFailure> {
        self.ca
            .snapshot()
            .sign_access_token(now, claims, typ)
            .map_err(|e| match e {
                CaError::NotReady(_) => SignFailure::Unavailable(e.to_string()),
                other => SignFailure::Failed(other.to_string()),
            })
    }

    fn signing_deadline(&self) -> Option<SystemTime> {
        self.ca.snapshot().oauth_signing_deadline()
    }
}
