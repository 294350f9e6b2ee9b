//! One behavioural suite every [`GrantStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{DatastoreError, GrantRecord, GrantStore, RefreshReads, Rotation};

fn grant(id: &str, user: &str, client: &str) -> GrantRecord {
    GrantRecord {
        grant_id: id.into(),
        user_id: user.into(),
        client_id: client.into(),
        scopes: vec!["openid".into()],
        auth_time: 10,
        amr: vec!["pwd".into()],
        created_at: 10,
        expires_at: 1000,
        generation: 0,
        rotated_at: 10,
    }
}

fn rotation<'a>(id: &'a str, old: &'a str, generation: u64, new: &'a str) -> Rotation<'a> {
    Rotation {
        grant_id: id,
        old_hash: old,
        expected_generation: generation,
        new_hash: new,
        now: 20,
    }
}

/// Creation, lookup, compare-and-swap rotation, and deletion by grant, user and client.
pub async fn exercise<S: GrantStore>(store: &S) {
    store
        .create_grant(&grant("g1", "u1", "c1"), "h0")
        .await
        .unwrap();
    let dup = store.create_grant(&grant("g1", "u1", "c1"), "hx").await;
    assert!(
        matches!(dup, Err(DatastoreError::AlreadyExists(_))),
        "{dup:?}"
    );
    let dup_hash = store.create_grant(&grant("g9", "u1", "c1"), "h0").await;
    assert!(matches!(dup_hash, Err(DatastoreError::AlreadyExists(_))));
    assert!(store.get_grant("g9").await.unwrap().is_none());

    let (token, found) = store.find_refresh_token("h0").await.unwrap().unwrap();
    assert_eq!((token.grant_id.as_str(), token.generation), ("g1", 0));
    assert_eq!(found.unwrap().user_id, "u1");
    assert!(store.find_refresh_token("nope").await.unwrap().is_none());

    // Rotation is a compare-and-swap on the generation.
    let rotated = store
        .rotate_refresh_token(&rotation("g1", "h0", 0, "h1"))
        .await
        .unwrap();
    let rotated = rotated.unwrap();
    assert_eq!((rotated.generation, rotated.rotated_at), (1, 20));
    assert!(
        store
            .rotate_refresh_token(&rotation("g1", "h0", 0, "h2"))
            .await
            .unwrap()
            .is_none()
    );
    // A stale hash with the right generation number is refused too.
    assert!(
        store
            .rotate_refresh_token(&rotation("g1", "h0", 1, "h2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_refresh_token("h2").await.unwrap().is_none());
    // The old hash is kept (reuse detection) and still names its generation.
    let (old, _) = store.find_refresh_token("h0").await.unwrap().unwrap();
    assert_eq!(old.generation, 0);

    // Deleting the grant drops every hash of the family.
    assert!(store.delete_grant("g1").await.unwrap());
    assert!(!store.delete_grant("g1").await.unwrap());
    for h in ["h0", "h1"] {
        let left = store.find_refresh_token(h).await.unwrap();
        assert!(left.is_none_or(|(_, g)| g.is_none()), "{h} survived");
    }
    assert!(
        store
            .rotate_refresh_token(&rotation("g1", "h1", 1, "h3"))
            .await
            .unwrap()
            .is_none()
    );

    // By user and by client.
    store
        .create_grant(&grant("a", "u1", "c1"), "ha")
        .await
        .unwrap();
    store
        .create_grant(&grant("b", "u1", "c2"), "hb")
        .await
        .unwrap();
    store
        .create_grant(&grant("c", "u2", "c2"), "hc")
        .await
        .unwrap();
    store
        .create_grant(&grant("d", "u2", "c3"), "hd")
        .await
        .unwrap();
    assert_eq!(store.delete_user_grants("u1").await.unwrap(), 2);
    assert!(store.get_grant("a").await.unwrap().is_none());
    assert!(store.get_grant("b").await.unwrap().is_none());
    assert_eq!(store.delete_client_grants("c2").await.unwrap(), 1);
    assert!(store.get_grant("c").await.unwrap().is_none());
    assert!(store.get_grant("d").await.unwrap().is_some());
    assert_eq!(store.delete_user_grants("nobody").await.unwrap(), 0);

    // Pruning: "d" (rotated at 10, expires at 1000) ends at 1000, or once idle for 100 s.
    assert_eq!(store.prune_grants(109, 100).await.unwrap(), 0);
    assert!(store.get_grant("d").await.unwrap().is_some());
    assert_eq!(store.prune_grants(110, 100).await.unwrap(), 1, "idle");
    assert!(store.get_grant("d").await.unwrap().is_none());
    assert!(
        store
            .find_refresh_token("hd")
            .await
            .unwrap()
            .is_none_or(|(_, g)| g.is_none())
    );
    store
        .create_grant(&grant("e", "u3", "c3"), "he")
        .await
        .unwrap();
    assert_eq!(store.prune_grants(999, 10_000).await.unwrap(), 0);
    assert_eq!(
        store.prune_grants(1000, 10_000).await.unwrap(),
        1,
        "absolute"
    );
    // Its index entries went with it.
    assert_eq!(store.delete_user_grants("u3").await.unwrap(), 0);
}

/// [`RefreshReads::find_refresh_token_and_user`] answers what the two reads it stands for
/// answer: an unknown token, the token with its grant and user, a user that is gone, a
/// grant that is gone.
pub async fn exercise_refresh_reads<S: RefreshReads>(store: &S) {
    assert!(
        store
            .find_refresh_token_and_user("r-nope")
            .await
            .unwrap()
            .is_none()
    );
    store
        .create_user(&super::user_store_tests::record("ru1", "refresher"))
        .await
        .unwrap();
    store
        .create_grant(&grant("rg1", "ru1", "c1"), "r-h0")
        .await
        .unwrap();
    let (token, found) = store
        .find_refresh_token_and_user("r-h0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((token.grant_id.as_str(), token.generation), ("rg1", 0));
    let (found, user) = found.unwrap();
    assert_eq!(found.grant_id, "rg1");
    assert_eq!(user.unwrap().unwrap().username, "refresher");
    store.delete_user("ru1").await.unwrap();
    let (_, found) = store
        .find_refresh_token_and_user("r-h0")
        .await
        .unwrap()
        .unwrap();
    let (found, user) = found.unwrap();
    assert_eq!(found.grant_id, "rg1");
    assert!(user.unwrap().is_none());
    // A grant with a user that never existed, then the grant gone: the token alone.
    store
        .create_grant(&grant("rg2", "ghost", "c1"), "r-h1")
        .await
        .unwrap();
    assert!(store.delete_grant("rg2").await.unwrap());
    assert!(
        store
            .find_refresh_token_and_user("r-h1")
            .await
            .unwrap()
            .is_none_or(|(_, grant)| grant.is_none())
    );
}
