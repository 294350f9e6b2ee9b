//! `tessera.admin.v1.Federation`: federation relationships (SPIRE's `federation
//! create|list|show|update|delete`). The fetcher ([`crate::federation::fetcher`]) reads them
//! from the datastore, so every replica sees a change within a second.

use tessera_proto::bundle::BundleDocument;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::admin::v1::federation_server::Federation;
use tessera_proto::wire::tessera::admin::v1::{
    CreateFederationRelationshipRequest, DeleteFederationRelationshipRequest,
    DeleteFederationRelationshipResponse, FederationRelationship, FederationRelationshipResponse,
    FederationStatus, GetFederationRelationshipRequest, ListFederationRelationshipsRequest,
    ListFederationRelationshipsResponse, UpdateFederationRelationshipRequest,
};
use tonic::{Request, Response, Status};

use crate::api::datastore_status;
use crate::datastore::{BundleStore, BundleWrite, FederationStore};
use crate::federation::accept::next_sequence;
use crate::federation::{MAX_DOCUMENT_BYTES, Profile, Relationship};

/// Federation relationships over the datastore; this server's own trust domain is refused.
#[derive(Debug)]
pub struct FederationService<S> {
    store: S,
    own: TrustDomain,
}

impl<S: FederationStore + BundleStore> FederationService<S> {
    /// A service over `store` for a server of trust domain `own`.
    pub fn new(store: S, own: TrustDomain) -> Self {
        Self { store, own }
    }

    /// Checks a relationship from a request.
    fn checked(&self, wire: Option<&FederationRelationship>) -> Result<Relationship, Status> {
        let wire = wire.ok_or_else(|| Status::invalid_argument("relationship is required"))?;
        let relationship =
            Relationship::from_wire(wire).map_err(|e| Status::invalid_argument(e.to_string()))?;
        if relationship.trust_domain == self.own {
            return Err(Status::invalid_argument(format!(
                "{} is this server's own trust domain",
                self.own
            )));
        }
        Ok(relationship)
    }

    fn trust_domain(&self, raw: &str) -> Result<TrustDomain, Status> {
        TrustDomain::from_id_or_name(raw).map_err(|e| {
            Status::invalid_argument(format!(
                "trust_domain {:?}: {e}",
                crate::federation::relationship::cut(raw)
            ))
        })
    }

    /// Stores `document` (when non-empty) as the bundle of the relationship's trust domain.
    /// For `https_spiffe`, a bundle with an X.509 authority must be held afterwards: it is
    /// what the endpoint is verified with.
    async fn initial_bundle(
        &self,
        relationship: &Relationship,
        document: &str,
    ) -> Result<(), Status> {
        let td = &relationship.trust_domain;
        let stored = self
            .store
            .get_bundle(td.as_str())
            .await
            .map_err(datastore_status)?;
        if document.is_empty() {
            let usable = stored.is_some_and(|b| !b.x509_authorities.is_empty());
            if matches!(relationship.profile, Profile::HttpsSpiffe { .. }) && !usable {
                return Err(Status::failed_precondition(format!(
                    "https_spiffe needs a bundle of {td} to verify its endpoint: pass \
                     trust_domain_bundle (--trust-domain-bundle-path)"
                )));
            }
            return Ok(());
        }
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(Status::invalid_argument(format!(
                "trust_domain_bundle is larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        let doc = BundleDocument::parse(td.clone(), document.as_bytes())
            .map_err(|e| Status::invalid_argument(format!("trust_domain_bundle: {e}")))?;
        if matches!(relationship.profile, Profile::HttpsSpiffe { .. })
            && doc.x509_authorities.is_empty()
        {
            return Err(Status::invalid_argument(
                "trust_domain_bundle: https_spiffe needs at least one X.509 authority",
            ));
        }
        let expected = stored.map(|b| b.sequence);
        let bundle = doc.to_wire(next_sequence(doc.sequence, expected));
        self.store
            .put_bundle(BundleWrite {
                bundle: &bundle,
                expected_sequence: expected,
            })
            .await
            .map_err(datastore_status)?;
        tracing::info!(
            target: "tessera::audit",
            event = "federated_bundle_set",
            actor = "admin_api",
            trust_domain = %td,
            sequence = bundle.sequence,
            x509_authorities = bundle.x509_authorities.len(),
            jwt_authorities = bundle.jwt_authorities.len(),
        );
        Ok(())
    }

    async fn response(
        &self,
        relationship: FederationRelationship,
        status: Option<FederationStatus>,
    ) -> Result<FederationRelationshipResponse, Status> {
        let bundle = self
            .store
            .get_bundle(&relationship.trust_domain)
            .await
            .map_err(datastore_status)?;
        Ok(FederationRelationshipResponse {
            relationship: Some(relationship),
            status,
            bundle,
        })
    }
}

fn audit(event: &'static str, r: &Relationship) {
    tracing::info!(
        target: "tessera::audit",
        event,
        actor = "admin_api",
        trust_domain = %r.trust_domain,
        endpoint = %r.endpoint.url,
        profile = %r.profile,
    );
}

#[tonic::async_trait]
impl<S: FederationStore + BundleStore> Federation for FederationService<S> {
    async fn create_federation_relationship(
        &self,
        request: Request<CreateFederationRelationshipRequest>,
    ) -> Result<Response<FederationRelationshipResponse>, Status> {
        let r = request.get_ref();
        let relationship = self.checked(r.relationship.as_ref())?;
        let td = relationship.trust_domain.as_str();
        if self
            .store
            .get_federation(td)
            .await
            .map_err(datastore_status)?
            .is_some()
        {
            return Err(Status::already_exists(format!(
                "a federation relationship with {td} exists; use update"
            )));
        }
        self.initial_bundle(&relationship, &r.trust_domain_bundle)
            .await?;
        let wire = relationship.to_wire();
        self.store
            .create_federation(&wire)
            .await
            .map_err(datastore_status)?;
        audit("federation_created", &relationship);
        Ok(Response::new(self.response(wire, None).await?))
    }

    async fn list_federation_relationships(
        &self,
        _: Request<ListFederationRelationshipsRequest>,
    ) -> Result<Response<ListFederationRelationshipsResponse>, Status> {
        let listed = self
            .store
            .list_federations()
            .await
            .map_err(datastore_status)?;
        let mut relationships = Vec::with_capacity(listed.len());
        for (relationship, status) in listed {
            relationships.push(self.response(relationship, status).await?);
        }
        Ok(Response::new(ListFederationRelationshipsResponse {
            relationships,
        }))
    }

    async fn get_federation_relationship(
        &self,
        request: Request<GetFederationRelationshipRequest>,
    ) -> Result<Response<FederationRelationshipResponse>, Status> {
        let td = self.trust_domain(&request.get_ref().trust_domain)?;
        let (relationship, status) = self
            .store
            .get_federation(td.as_str())
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| Status::not_found(format!("no federation relationship with {td}")))?;
        Ok(Response::new(self.response(relationship, status).await?))
    }

    async fn update_federation_relationship(
        &self,
        request: Request<UpdateFederationRelationshipRequest>,
    ) -> Result<Response<FederationRelationshipResponse>, Status> {
        let r = request.get_ref();
        let relationship = self.checked(r.relationship.as_ref())?;
        let td = relationship.trust_domain.as_str();
        let Some((before, mut status)) = self
            .store
            .get_federation(td)
            .await
            .map_err(datastore_status)?
        else {
            return Err(Status::not_found(format!(
                "no federation relationship with {td}; use create"
            )));
        };
        self.initial_bundle(&relationship, &r.trust_domain_bundle)
            .await?;
        let wire = relationship.to_wire();
        self.store
            .update_federation(&wire)
            .await
            .map_err(datastore_status)?;
        // Another endpoint numbers its documents its own way: forget the last sequence.
        if before.bundle_endpoint_url != wire.bundle_endpoint_url
            && let Some(status) = status.as_mut()
            && status.has_sequence
        {
            status.has_sequence = false;
            status.last_sequence = 0;
            self.store
                .put_federation_status(td, status)
                .await
                .map_err(datastore_status)?;
        }
        audit("federation_updated", &relationship);
        Ok(Response::new(self.response(wire, status).await?))
    }

    async fn delete_federation_relationship(
        &self,
        request: Request<DeleteFederationRelationshipRequest>,
    ) -> Result<Response<DeleteFederationRelationshipResponse>, Status> {
        let td = self.trust_domain(&request.get_ref().trust_domain)?;
        if !self
            .store
            .delete_federation(td.as_str())
            .await
            .map_err(datastore_status)?
        {
            return Err(Status::not_found(format!(
                "no federation relationship with {td}"
            )));
        }
        tracing::info!(target: "tessera::audit", event = "federation_deleted", actor = "admin_api", trust_domain = %td);
        Ok(Response::new(DeleteFederationRelationshipResponse {}))
    }
}

#[cfg(test)]
#[path = "federation_tests.rs"]
mod tests;
