//! One behaviour suite for every [`UserStore`] implementation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{DatastoreError, UserRecord, UserStore};

/// A record for `username` with ID `id`.
pub fn record(id: &str, username: &str) -> UserRecord {
    UserRecord {
        username: username.into(),
        username_key: username.to_ascii_lowercase(),
        display_name: format!("{username} Example"),
        email: format!("{}@example.org", username.to_ascii_lowercase()),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: 100,
        updated_at: 100,
        ..UserRecord::for_test(id)
    }
}

/// Create (unique ID and case-insensitive username), get by ID and username, page,
/// optimistic update (including a rename), delete.
pub async fn exercise(store: &impl UserStore) {
    assert!(store.get_user("u1").await.unwrap().is_none());
    assert!(store.get_user_by_username("alice").await.unwrap().is_none());
    let alice = store.create_user(&record("u2", "Alice")).await.unwrap();
    assert_eq!(alice.revision, 1);
    for (id, name) in [
        ("u1", "bob"),
        ("u4", "carol"),
        ("u3", "dave"),
        ("u5", "erin"),
    ] {
        store.create_user(&record(id, name)).await.unwrap();
    }
    let dup = store.create_user(&record("u9", "ALICE")).await;
    assert!(
        matches!(&dup, Err(DatastoreError::AlreadyExists(m)) if m.contains("ALICE")),
        "{dup:?}"
    );
    assert!(
        store.get_user("u9").await.unwrap().is_none(),
        "nothing written"
    );
    let dup_id = store.create_user(&record("u1", "frank")).await;
    assert!(matches!(dup_id, Err(DatastoreError::AlreadyExists(_))));
    assert!(store.get_user_by_username("frank").await.unwrap().is_none());

    assert_eq!(store.get_user("u2").await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.get_user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = store.list_users(&token, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|u| u.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["u1", "u2", "u3", "u4", "u5"]);

    let mut renamed = alice.clone();
    renamed.username = "Alicia".into();
    renamed.username_key = "alicia".into();
    let renamed = store.update_user(&renamed).await.unwrap();
    assert_eq!(renamed.revision, 2);
    assert!(store.get_user_by_username("alice").await.unwrap().is_none());
    assert_eq!(
        store
            .get_user_by_username("alicia")
            .await
            .unwrap()
            .unwrap()
            .id,
        "u2"
    );
    // A stale revision loses.
    let stale = store.update_user(&alice).await;
    assert!(
        matches!(stale, Err(DatastoreError::Conflict(_))),
        "{stale:?}"
    );
    // Taking another account's username is refused, and the index is unchanged.
    let mut steal = renamed.clone();
    steal.username = "Bob".into();
    steal.username_key = "bob".into();
    let refused = store.update_user(&steal).await;
    assert!(matches!(refused, Err(DatastoreError::AlreadyExists(_))));
    assert_eq!(
        store.get_user_by_username("bob").await.unwrap().unwrap().id,
        "u1"
    );
    assert!(matches!(
        store.update_user(&record("nope", "nope")).await,
        Err(DatastoreError::NotFound(_))
    ));

    let deleted = store.delete_user("u2").await.unwrap().unwrap();
    assert_eq!(deleted.username, "Alicia");
    assert!(store.delete_user("u2").await.unwrap().is_none());
    assert!(
        store
            .get_user_by_username("alicia")
            .await
            .unwrap()
            .is_none()
    );
    // The freed username can be taken again.
    store.create_user(&record("u6", "alicia")).await.unwrap();
}
