//! `tessera.admin.v1.Bundles`.

use std::sync::Arc;

use tessera_proto::wire::tessera::admin::v1::bundles_server::Bundles;
use tessera_proto::wire::tessera::admin::v1::{GetBundleRequest, GetBundleResponse};
use tonic::{Request, Response, Status};

use crate::api::ca_status;
use crate::ca::CaManager;
use crate::datastore::{BundleStore, CaJournalStore};

/// Serves the trust domain's bundle as the CA last published it.
#[derive(Debug)]
pub struct BundlesService<S> {
    ca: Arc<CaManager<S>>,
}

impl<S> BundlesService<S> {
    /// A bundle service over the CA.
    pub fn new(ca: Arc<CaManager<S>>) -> Self {
        Self { ca }
    }
}

#[tonic::async_trait]
impl<S: CaJournalStore + BundleStore> Bundles for BundlesService<S> {
    async fn get_bundle(
        &self,
        _: Request<GetBundleRequest>,
    ) -> Result<Response<GetBundleResponse>, Status> {
        let snapshot = self.ca.snapshot();
        let document = snapshot
            .spiffe_document()
            .map_err(ca_status)?
            .to_json_pretty()
            .map_err(|e| ca_status(crate::ca::CaError::Crypto(format!("bundle document: {e}"))))?;
        Ok(Response::new(GetBundleResponse {
            bundle: Some(snapshot.bundle().clone()),
            spiffe_document: document,
        }))
    }
}
