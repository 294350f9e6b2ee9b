#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::bundle::{JwtAuthority as DocJwtAuthority, PublicJwk};
use tessera_proto::wire::tessera::types::v1::Bundle;
use tonic::Code;

use super::*;
use crate::datastore::memory::MemoryStore;

fn service() -> (FederatedBundlesService<MemoryStore>, MemoryStore) {
    let store = MemoryStore::default();
    let own = TrustDomain::new("example.org").unwrap();
    (FederatedBundlesService::new(store.clone(), own), store)
}

/// A SPIFFE bundle document of `other.org`: one CA certificate, one JWT key.
fn document(sequence: Option<u64>) -> (String, Vec<u8>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&ca_key).unwrap().der().to_vec();
    let jwt_key = rcgen::KeyPair::generate().unwrap();
    let spki = rcgen::PublicKeyData::subject_public_key_info(&jwt_key);
    let mut doc = BundleDocument::new(TrustDomain::new("other.org").unwrap());
    doc.sequence = sequence;
    doc.refresh_hint = Some(60);
    doc.x509_authorities = vec![ca.clone()];
    doc.jwt_authorities = vec![DocJwtAuthority {
        kid: "other-k1".into(),
        key: PublicJwk::from_spki_der(&spki).unwrap(),
    }];
    (doc.to_json().unwrap(), ca, spki)
}

async fn set(
    svc: &FederatedBundlesService<MemoryStore>,
    trust_domain: &str,
    spiffe_document: &str,
) -> Result<Bundle, Status> {
    svc.set_federated_bundle(Request::new(SetFederatedBundleRequest {
        trust_domain: trust_domain.into(),
        spiffe_document: spiffe_document.into(),
    }))
    .await
    .map(|r| r.into_inner().bundle.unwrap())
}

async fn list(svc: &FederatedBundlesService<MemoryStore>) -> Vec<Bundle> {
    svc.list_federated_bundles(Request::new(ListFederatedBundlesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .bundles
}

#[tokio::test]
async fn set_stores_the_parsed_document_and_list_shows_only_foreign_bundles() {
    let (svc, store) = service();
    // The server's own bundle lives in the same store and must not be listed.
    let own = Bundle {
        trust_domain: "example.org".into(),
        sequence: 3,
        ..Default::default()
    };
    store
        .put_bundle(BundleWrite {
            bundle: &own,
            expected_sequence: None,
        })
        .await
        .unwrap();

    let (json, ca, spki) = document(Some(7));
    let stored = set(&svc, "spiffe://other.org", &json).await.unwrap();
    assert_eq!(stored.trust_domain, "other.org");
    assert_eq!(stored.sequence, 7);
    assert_eq!(stored.refresh_hint_seconds, 60);
    assert_eq!(stored.x509_authorities[0].asn1, ca);
    assert_eq!(stored.jwt_authorities[0].key_id, "other-k1");
    assert_eq!(stored.jwt_authorities[0].public_key, spki);
    assert_eq!(
        store.get_bundle("other.org").await.unwrap().unwrap(),
        stored
    );
    assert_eq!(list(&svc).await, vec![stored]);
}

#[tokio::test]
async fn every_set_bumps_the_sequence() {
    let (svc, _) = service();
    let (json, _, _) = document(Some(7));
    assert_eq!(set(&svc, "other.org", &json).await.unwrap().sequence, 7);
    // Same document again: still a change for consumers, so the sequence moves.
    assert_eq!(set(&svc, "other.org", &json).await.unwrap().sequence, 8);
    let (newer, _, _) = document(Some(20));
    assert_eq!(set(&svc, "other.org", &newer).await.unwrap().sequence, 20);
    let (unsequenced, _, _) = document(None);
    assert_eq!(
        set(&svc, "other.org", &unsequenced).await.unwrap().sequence,
        21
    );
}

#[tokio::test]
async fn own_trust_domain_and_bad_input_are_invalid_arguments() {
    let (svc, store) = service();
    let (json, _, _) = document(None);
    for td in [
        "example.org",
        "spiffe://example.org",
        "",
        "Bad..Name",
        "spiffe://other.org/path",
    ] {
        let e = set(&svc, td, &json).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{td}: {e:?}");
    }
    for bad in [
        "",
        "{}",
        "not json",
        r#"{"keys":[{"use":"x509-svid","kty":"EC"}]}"#,
    ] {
        let e = set(&svc, "other.org", bad).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}: {e:?}");
    }
    let huge = format!(
        "{{\"keys\":[],\"pad\":\"{}\"}}",
        "a".repeat(MAX_DOCUMENT_BYTES)
    );
    let e = set(&svc, "other.org", &huge).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(store.list_bundles().await.unwrap().is_empty());

    let e = svc
        .delete_federated_bundle(Request::new(DeleteFederatedBundleRequest {
            trust_domain: "example.org".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn delete_removes_the_bundle_and_a_missing_one_is_not_found() {
    let (svc, store) = service();
    let (json, _, _) = document(None);
    set(&svc, "other.org", &json).await.unwrap();
    let delete = |td: &str| {
        svc.delete_federated_bundle(Request::new(DeleteFederatedBundleRequest {
            trust_domain: td.into(),
        }))
    };
    delete("spiffe://other.org").await.unwrap();
    assert!(store.get_bundle("other.org").await.unwrap().is_none());
    assert_eq!(
        delete("other.org").await.unwrap_err().code(),
        Code::NotFound
    );
}
