//! One behavioural suite every [`FederationStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::admin::v1::{FederationRelationship, FederationStatus};

use super::{DatastoreError, FederationStore};

fn relationship(td: &str, url: &str) -> FederationRelationship {
    FederationRelationship {
        trust_domain: td.into(),
        bundle_endpoint_url: url.into(),
        bundle_endpoint_profile: "https_spiffe".into(),
        endpoint_spiffe_id: format!("spiffe://{td}/tessera/server"),
    }
}

fn status(error: &str, sequence: u64) -> FederationStatus {
    FederationStatus {
        last_attempt_at: 20,
        last_refresh_at: 10,
        last_error: error.into(),
        last_sequence: sequence,
        has_sequence: true,
        next_refresh_at: 30,
    }
}

/// Create (unique), get, list in order, update keeps the status, status only for existing
/// relationships, delete takes the status along.
pub async fn exercise(store: &impl FederationStore) {
    assert!(store.get_federation("b.example").await.unwrap().is_none());
    assert!(store.list_federations().await.unwrap().is_empty());
    for td in ["c.example", "b.example"] {
        store
            .create_federation(&relationship(td, "https://one/"))
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .create_federation(&relationship("b.example", "https://two/"))
            .await,
        Err(DatastoreError::AlreadyExists(_))
    ));
    let (got, got_status) = store.get_federation("b.example").await.unwrap().unwrap();
    assert_eq!(got, relationship("b.example", "https://one/"));
    assert_eq!(got_status, None);

    assert!(
        store
            .put_federation_status("b.example", &status("refused", 4))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_federation_status("nobody.example", &status("", 1))
            .await
            .unwrap(),
        "no status without a relationship"
    );
    store
        .update_federation(&relationship("b.example", "https://two/"))
        .await
        .unwrap();
    let (got, got_status) = store.get_federation("b.example").await.unwrap().unwrap();
    assert_eq!(got.bundle_endpoint_url, "https://two/");
    assert_eq!(
        got_status,
        Some(status("refused", 4)),
        "update keeps the status"
    );
    assert!(matches!(
        store
            .update_federation(&relationship("nobody.example", "https://x/"))
            .await,
        Err(DatastoreError::NotFound(_))
    ));
    // Last writer wins.
    store
        .put_federation_status("b.example", &status("", 5))
        .await
        .unwrap();

    let listed = store.list_federations().await.unwrap();
    let names: Vec<&str> = listed
        .iter()
        .map(|(r, _)| r.trust_domain.as_str())
        .collect();
    assert_eq!(names, ["b.example", "c.example"]);
    assert_eq!(listed[0].1, Some(status("", 5)));
    assert_eq!(listed[1].1, None);

    assert!(store.delete_federation("b.example").await.unwrap());
    assert!(!store.delete_federation("b.example").await.unwrap());
    // Created again: starts without the old status.
    store
        .create_federation(&relationship("b.example", "https://three/"))
        .await
        .unwrap();
    let (_, fresh) = store.get_federation("b.example").await.unwrap().unwrap();
    assert_eq!(fresh, None);
    assert_eq!(store.list_federations().await.unwrap().len(), 2);
}
