//! `tessera.admin.v1.FederatedBundles`: the bundles of other trust domains (SPIRE's
//! `bundle list|set|delete`), stored as wire `Bundle`s for agents whose entries federate
//! with them.

use tessera_proto::bundle::BundleDocument;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::admin::v1::federated_bundles_server::FederatedBundles;
use tessera_proto::wire::tessera::admin::v1::{
    DeleteFederatedBundleRequest, DeleteFederatedBundleResponse, ListFederatedBundlesRequest,
    ListFederatedBundlesResponse, SetFederatedBundleRequest, SetFederatedBundleResponse,
};
use tonic::{Request, Response, Status};

use crate::api::datastore_status;
use crate::datastore::{BundleStore, BundleWrite};
use crate::federation::accept::next_sequence;

use crate::federation::MAX_DOCUMENT_BYTES;

/// Federated bundles over the datastore; this server's own trust domain is off limits.
#[derive(Debug)]
pub struct FederatedBundlesService<S> {
    store: S,
    own: TrustDomain,
}

impl<S> FederatedBundlesService<S> {
    /// A service over `store` for a server of trust domain `own`.
    pub fn new(store: S, own: TrustDomain) -> Self {
        Self { store, own }
    }

    /// `other.org` or `spiffe://other.org`, never this server's own trust domain.
    fn foreign(&self, raw: &str) -> Result<TrustDomain, Status> {
        let name = raw.strip_prefix("spiffe://").unwrap_or(raw);
        let td = TrustDomain::new(name).map_err(|e| {
            Status::invalid_argument(format!("trust_domain {raw:?} is not a trust domain: {e}"))
        })?;
        if td == self.own {
            return Err(Status::invalid_argument(format!(
                "{td} is this server's own trust domain; its bundle is managed by the CA"
            )));
        }
        Ok(td)
    }
}

#[tonic::async_trait]
impl<S: BundleStore> FederatedBundles for FederatedBundlesService<S> {
    async fn list_federated_bundles(
        &self,
        _: Request<ListFederatedBundlesRequest>,
    ) -> Result<Response<ListFederatedBundlesResponse>, Status> {
        let bundles = self
            .store
            .list_bundles()
            .await
            .map_err(datastore_status)?
            .into_iter()
            .filter(|b| b.trust_domain != self.own.as_str())
            .collect();
        Ok(Response::new(ListFederatedBundlesResponse { bundles }))
    }

    async fn set_federated_bundle(
        &self,
        request: Request<SetFederatedBundleRequest>,
    ) -> Result<Response<SetFederatedBundleResponse>, Status> {
        let r = request.get_ref();
        let td = self.foreign(&r.trust_domain)?;
        if r.spiffe_document.len() > MAX_DOCUMENT_BYTES {
            return Err(Status::invalid_argument(format!(
                "spiffe_document is larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        let document = BundleDocument::parse(td.clone(), r.spiffe_document.as_bytes())
            .map_err(|e| Status::invalid_argument(format!("spiffe_document: {e}")))?;
        let stored = self
            .store
            .get_bundle(td.as_str())
            .await
            .map_err(datastore_status)?
            .map(|b| b.sequence);
        // `spiffe_sequence` is bumped on every change: the document's when it moves forward,
        // else one past the stored bundle's.
        let sequence = next_sequence(document.sequence, stored);
        let bundle = document.to_wire(sequence);
        self.store
            .put_bundle(BundleWrite {
                bundle: &bundle,
                expected_sequence: stored,
            })
            .await
            .map_err(datastore_status)?;
        tracing::info!(
            target: "tessera::audit",
            event = "federated_bundle_set",
            actor = "admin_api",
            trust_domain = %td,
            sequence,
            x509_authorities = bundle.x509_authorities.len(),
            jwt_authorities = bundle.jwt_authorities.len(),
        );
        Ok(Response::new(SetFederatedBundleResponse {
            bundle: Some(bundle),
        }))
    }

    async fn delete_federated_bundle(
        &self,
        request: Request<DeleteFederatedBundleRequest>,
    ) -> Result<Response<DeleteFederatedBundleResponse>, Status> {
        let td = self.foreign(&request.get_ref().trust_domain)?;
        let deleted = self
            .store
            .delete_bundle(td.as_str())
            .await
            .map_err(datastore_status)?;
        if !deleted {
            return Err(Status::not_found(format!("no federated bundle for {td}")));
        }
        tracing::info!(target: "tessera::audit", event = "federated_bundle_deleted", actor = "admin_api", trust_domain = %td);
        Ok(Response::new(DeleteFederatedBundleResponse {}))
    }
}

#[cfg(test)]
#[path = "federated_bundles_tests.rs"]
mod tests;
