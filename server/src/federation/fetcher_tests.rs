#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tessera_proto::bundle::BundleDocument;
use tessera_proto::clock::SystemClock;

use super::*;
use crate::datastore::memory::MemoryStore;

fn relationship(td: &str, url: &str) -> FederationRelationship {
    FederationRelationship {
        trust_domain: td.into(),
        bundle_endpoint_url: url.into(),
        bundle_endpoint_profile: "https_spiffe".into(),
        endpoint_spiffe_id: format!("spiffe://{td}/tessera/server"),
    }
}

fn fetcher(store: &MemoryStore) -> Fetcher<MemoryStore> {
    Fetcher::new(
        store.clone(),
        Arc::new(SystemClock),
        TrustDomain::new("a.example").unwrap(),
        Arc::new(RootCertStore::empty()),
        Bounds {
            min: Duration::from_secs(1),
            max: Duration::from_secs(8),
        },
    )
}

/// A held bundle of `b.example` with one CA.
async fn hold_bundle(store: &MemoryStore) -> tessera_proto::wire::tessera::types::v1::Bundle {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let mut doc = BundleDocument::new(TrustDomain::new("b.example").unwrap());
    doc.x509_authorities = vec![params.self_signed(&key).unwrap().der().to_vec()];
    let bundle = doc.to_wire(4);
    store
        .put_bundle(BundleWrite {
            bundle: &bundle,
            expected_sequence: None,
        })
        .await
        .unwrap();
    bundle
}

#[tokio::test]
async fn a_failed_fetch_is_recorded_and_the_held_bundle_kept() {
    let store = MemoryStore::default();
    let held = hold_bundle(&store).await;
    // Nothing listens on port 1.
    for r in [
        relationship("b.example", "https://127.0.0.1:1/"),
        relationship("c.example", "https://127.0.0.1:1/"),
        relationship("a.example", "https://127.0.0.1:1/"),
    ] {
        store.create_federation(&r).await.unwrap();
    }
    let mut fetcher = fetcher(&store);
    fetcher.round().await;

    let (_, status) = store.get_federation("b.example").await.unwrap().unwrap();
    let status = status.unwrap();
    assert!(
        status.last_error.starts_with("connecting to 127.0.0.1:1"),
        "{status:?}"
    );
    assert!(status.last_attempt_at > 0);
    assert_eq!(status.last_refresh_at, 0, "never accepted");
    assert!(status.next_refresh_at > status.last_attempt_at);
    assert_eq!(store.get_bundle("b.example").await.unwrap(), Some(held));

    let (_, status) = store.get_federation("c.example").await.unwrap().unwrap();
    assert!(
        status
            .unwrap()
            .last_error
            .contains("no X.509 authority of c.example"),
        "https_spiffe without a held bundle is not even tried"
    );
    // The own trust domain is never fetched.
    let (_, own) = store.get_federation("a.example").await.unwrap().unwrap();
    assert_eq!(own, None);

    // Not due again before the back-off: the next round leaves the status alone.
    store
        .put_federation_status("b.example", &FederationStatus::default())
        .await
        .unwrap();
    fetcher.round().await;
    let (_, status) = store.get_federation("b.example").await.unwrap().unwrap();
    assert_eq!(status, Some(FederationStatus::default()));
    assert_eq!(fetcher.slots["b.example"].failures, 1);

    // A changed relationship is due at once.
    store
        .update_federation(&relationship("b.example", "https://127.0.0.1:2/"))
        .await
        .unwrap();
    fetcher.round().await;
    let (_, status) = store.get_federation("b.example").await.unwrap().unwrap();
    assert!(status.unwrap().last_error.contains("127.0.0.1:2"));
    assert_eq!(fetcher.slots["b.example"].failures, 2);

    // A deleted one is forgotten.
    store.delete_federation("b.example").await.unwrap();
    fetcher.round().await;
    assert!(!fetcher.slots.contains_key("b.example"));
}
