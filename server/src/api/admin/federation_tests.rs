#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tonic::Code;

use super::*;
use crate::datastore::memory::MemoryStore;

fn service() -> (FederationService<MemoryStore>, MemoryStore) {
    let store = MemoryStore::default();
    let own = TrustDomain::new("a.example").unwrap();
    (FederationService::new(store.clone(), own), store)
}

fn ca_document(td: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap().der().to_vec();
    let mut doc = BundleDocument::new(TrustDomain::new(td).unwrap());
    doc.sequence = Some(5);
    doc.x509_authorities = vec![ca];
    doc.to_json().unwrap()
}

fn spiffe(td: &str) -> FederationRelationship {
    FederationRelationship {
        trust_domain: td.into(),
        bundle_endpoint_url: "https://127.0.0.1:8443/".into(),
        bundle_endpoint_profile: "https_spiffe".into(),
        endpoint_spiffe_id: format!("spiffe://{td}/tessera/server"),
    }
}

async fn create(
    svc: &FederationService<MemoryStore>,
    relationship: FederationRelationship,
    bundle: &str,
) -> Result<FederationRelationshipResponse, Status> {
    svc.create_federation_relationship(Request::new(CreateFederationRelationshipRequest {
        relationship: Some(relationship),
        trust_domain_bundle: bundle.into(),
    }))
    .await
    .map(Response::into_inner)
}

#[tokio::test]
async fn create_stores_the_relationship_and_its_initial_bundle() {
    let (svc, store) = service();
    let mut named_by_id = spiffe("b.example");
    named_by_id.trust_domain = "spiffe://b.example".into();
    let created = create(&svc, named_by_id, &ca_document("b.example"))
        .await
        .unwrap();
    let relationship = created.relationship.unwrap();
    assert_eq!(relationship.trust_domain, "b.example", "canonical name");
    assert_eq!(created.bundle.unwrap().sequence, 5);
    assert!(store.get_federation("b.example").await.unwrap().is_some());

    let again = create(&svc, spiffe("b.example"), "").await.unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let shown = svc
        .get_federation_relationship(Request::new(GetFederationRelationshipRequest {
            trust_domain: "spiffe://b.example".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        shown.relationship.unwrap().bundle_endpoint_profile,
        "https_spiffe"
    );
    let listed = svc
        .list_federation_relationships(Request::new(ListFederationRelationshipsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.relationships.len(), 1);
}

#[tokio::test]
async fn https_spiffe_needs_a_bundle_and_bad_input_is_invalid() {
    let (svc, _) = service();
    let err = create(&svc, spiffe("b.example"), "").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("trust-domain-bundle-path"),
        "{}",
        err.message()
    );

    let err = create(&svc, spiffe("b.example"), "{").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = create(&svc, spiffe("a.example"), &ca_document("a.example"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("own trust domain"));
    let mut web_with_id = spiffe("b.example");
    web_with_id.bundle_endpoint_profile = "https_web".into();
    let err = create(&svc, web_with_id, "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("endpoint_spiffe_id"));
    let err = svc
        .create_federation_relationship(Request::new(CreateFederationRelationshipRequest {
            relationship: None,
            trust_domain_bundle: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // https_web needs no bundle.
    let mut web = spiffe("c.example");
    web.bundle_endpoint_profile = "https_web".into();
    web.endpoint_spiffe_id.clear();
    create(&svc, web, "").await.unwrap();
}

#[tokio::test]
async fn update_and_delete_need_an_existing_relationship() {
    let (svc, store) = service();
    let update = |r: FederationRelationship| {
        svc.update_federation_relationship(Request::new(UpdateFederationRelationshipRequest {
            relationship: Some(r),
            trust_domain_bundle: String::new(),
        }))
    };
    assert_eq!(
        update(spiffe("b.example")).await.unwrap_err().code(),
        Code::NotFound
    );
    create(&svc, spiffe("b.example"), &ca_document("b.example"))
        .await
        .unwrap();
    let seen = FederationStatus {
        last_refresh_at: 10,
        last_sequence: 7,
        has_sequence: true,
        ..Default::default()
    };
    store
        .put_federation_status("b.example", &seen)
        .await
        .unwrap();
    let same_url = update(spiffe("b.example")).await.unwrap().into_inner();
    assert_eq!(same_url.status.unwrap(), seen);
    let mut moved = spiffe("b.example");
    moved.bundle_endpoint_url = "https://b.example:9443/bundle".into();
    let updated = update(moved).await.unwrap().into_inner();
    let status = updated.status.clone().unwrap();
    assert!(!status.has_sequence, "another endpoint: its own numbering");
    assert_eq!(status.last_refresh_at, 10);
    assert_eq!(
        updated.relationship.unwrap().bundle_endpoint_url,
        "https://b.example:9443/bundle"
    );

    let delete = |td: &str| {
        svc.delete_federation_relationship(Request::new(DeleteFederationRelationshipRequest {
            trust_domain: td.into(),
        }))
    };
    delete("b.example").await.unwrap();
    assert_eq!(
        delete("b.example").await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        delete("not a td!").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // The bundle stays (as SPIRE keeps it): `bundle delete` removes it.
    assert!(store.get_bundle("b.example").await.unwrap().is_some());
}
