//! The server's trust bundles (own from the CA, federated from the datastore) as the OAuth
//! surface's [`TrustBundles`].

use std::sync::Arc;

use tessera_proto::jwt_svid::bundle_trust_domain;
use tessera_proto::wire::tessera::types::v1::Bundle;

use super::http::TrustBundles;
use crate::ca::CaManager;
use crate::datastore::{BundleStore, CaJournalStore};

/// Own bundle from the CA's current snapshot, then every federated bundle in the store.
#[derive(Debug)]
pub struct CaTrustBundles<S> {
    ca: Arc<CaManager<S>>,
    store: S,
}

impl<S> CaTrustBundles<S> {
    /// Bundles from `ca` (own) and `store` (federated).
    pub fn new(ca: Arc<CaManager<S>>, store: S) -> Self {
        Self { ca, store }
    }
}

impl<S: CaJournalStore + BundleStore> TrustBundles for CaTrustBundles<S> {
    async fn bundles(&self) -> Result<Vec<Bundle>, String> {
        let snapshot = self.ca.snapshot();
        let own = snapshot.bundle().clone();
        let own_td = bundle_trust_domain(&own);
        let stored = self.store.list_bundles().await.map_err(|e| e.to_string())?;
        let federated = stored
            .into_iter()
            .filter(|b| bundle_trust_domain(b).is_some() && bundle_trust_domain(b) != own_td);
        Ok(std::iter::once(own).chain(federated).collect())
    }
}
