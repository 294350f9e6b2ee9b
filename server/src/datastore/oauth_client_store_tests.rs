//! One behavioural suite every [`OAuthClientStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::admin::v1::OAuthClient;

use super::{DatastoreError, OAuthClientStore, SecretRecord};

fn client(id: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        name: format!("client {id}"),
        grant_types: vec!["client_credentials".into()],
        enabled: true,
        ..Default::default()
    }
}

fn secret(hash: &str) -> SecretRecord {
    SecretRecord {
        current_hash: hash.into(),
        previous_hash: None,
        previous_valid_until: 0,
    }
}

/// Create (with and without a secret; a duplicate writes nothing), page, update, secret
/// rotation together with the client, delete with the secret.
pub async fn exercise(store: &impl OAuthClientStore) {
    assert!(store.get_oauth_client("a").await.unwrap().is_none());
    store
        .create_oauth_client(&client("b"), Some(&secret("bb")))
        .await
        .unwrap();
    for id in ["c", "a", "e", "d"] {
        store.create_oauth_client(&client(id), None).await.unwrap();
    }
    let dup = store
        .create_oauth_client(&client("b"), Some(&secret("other")))
        .await;
    assert!(
        matches!(dup, Err(DatastoreError::AlreadyExists(_))),
        "{dup:?}"
    );
    assert_eq!(
        store.get_client_secret("b").await.unwrap(),
        Some(secret("bb")),
        "a refused duplicate writes nothing"
    );
    assert_eq!(store.get_client_secret("a").await.unwrap(), None);

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = store.list_oauth_clients(&token, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|c| c.client_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);

    let mut renamed = client("c");
    renamed.name = "renamed".into();
    store.update_oauth_client(&renamed).await.unwrap();
    assert_eq!(store.get_oauth_client("c").await.unwrap(), Some(renamed));
    assert!(matches!(
        store.update_oauth_client(&client("zz")).await,
        Err(DatastoreError::NotFound(_))
    ));
    assert!(matches!(
        store.put_client_secret(&client("zz"), &secret("x")).await,
        Err(DatastoreError::NotFound(_))
    ));
    let mut rotated = client("b");
    rotated.secret_rotated_at = 42;
    let record = SecretRecord {
        current_hash: "new".into(),
        previous_hash: Some("bb".into()),
        previous_valid_until: 99,
    };
    store.put_client_secret(&rotated, &record).await.unwrap();
    assert_eq!(store.get_oauth_client("b").await.unwrap(), Some(rotated));
    assert_eq!(store.get_client_secret("b").await.unwrap(), Some(record));

    assert!(store.delete_oauth_client("a").await.unwrap());
    assert!(!store.delete_oauth_client("a").await.unwrap());
    assert!(store.delete_oauth_client("b").await.unwrap());
    assert_eq!(store.get_client_secret("b").await.unwrap(), None);
    // A client created again under a deleted ID does not inherit its secret.
    store.create_oauth_client(&client("b"), None).await.unwrap();
    assert_eq!(store.get_client_secret("b").await.unwrap(), None);
    assert_eq!(
        store.list_oauth_clients("", 100).await.unwrap().items.len(),
        4
    );
}
