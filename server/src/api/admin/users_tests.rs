#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::TokioClock;
use tonic::Code;

use super::*;
use crate::ca::Sealer;
use crate::datastore::memory::MemoryStore;
use crate::users::{Argon2Settings, LoginGuard};

const PASSWORD: &str = "s3cret-Pa55word";

struct Fixture {
    svc: UsersService<MemoryStore>,
    store: MemoryStore,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::default();
    let clock = TokioClock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000));
    let sealer = Arc::new(Sealer::open(&dir.path().join("seal.key"), true).unwrap());
    let cheap = Argon2Settings {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let accounts = Accounts::new(
        store.clone(),
        sealer,
        cheap,
        LoginGuard::default(),
        Arc::new(clock),
    );
    Fixture {
        svc: UsersService::new(accounts),
        store,
        _dir: dir,
    }
}

fn user(name: &str) -> User {
    User {
        username: name.into(),
        display_name: format!("{name} Example"),
        email: format!("{}@example.org", name.to_lowercase()),
        // Server-owned fields: ignored on create.
        id: "chosen-by-caller".into(),
        disabled: true,
        totp_enabled: true,
        created_at: 5,
        updated_at: 6,
    }
}

async fn create(f: &Fixture, u: User, password: &str) -> Result<User, Status> {
    f.svc
        .create_user(Request::new(CreateUserRequest {
            user: Some(u),
            password: password.into(),
        }))
        .await
        .map(|r| r.into_inner().user.unwrap())
}

async fn get(f: &Fixture, reference: &str) -> Result<User, Status> {
    f.svc
        .get_user(Request::new(GetUserRequest {
            user: reference.into(),
        }))
        .await
        .map(|r| r.into_inner().user.unwrap())
}

#[tokio::test(start_paused = true)]
async fn create_get_and_precise_refusals() {
    let f = fixture();
    let alice = create(&f, user("Alice"), PASSWORD).await.unwrap();
    assert_ne!(alice.id, "chosen-by-caller");
    assert_eq!(alice.id.len(), 22);
    assert!(!alice.disabled && !alice.totp_enabled);
    assert_eq!((alice.created_at, alice.updated_at), (1_000, 1_000));
    assert_eq!(get(&f, "aLICE").await.unwrap(), alice);
    assert_eq!(get(&f, &alice.id).await.unwrap(), alice);

    let dup = create(&f, user("ALICE"), PASSWORD).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    assert!(dup.message().contains("already taken"), "{}", dup.message());

    for (u, password, code, prefix) in [
        (
            Some(user("bad name")),
            PASSWORD,
            Code::InvalidArgument,
            "username: ",
        ),
        (
            Some(User {
                email: "nope".into(),
                ..user("bob")
            }),
            PASSWORD,
            Code::InvalidArgument,
            "email: ",
        ),
        (
            Some(user("bob")),
            "short",
            Code::InvalidArgument,
            "password: ",
        ),
        (None, PASSWORD, Code::InvalidArgument, "user: required"),
    ] {
        let err = f
            .svc
            .create_user(Request::new(CreateUserRequest {
                user: u,
                password: password.into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
        assert!(err.message().starts_with(prefix), "{}", err.message());
        assert!(
            !err.message().contains(password),
            "the password is not echoed"
        );
    }
    let long = "x".repeat(1025);
    let err = create(&f, user("bob"), &long).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "password: at most 1024 bytes");

    let missing = get(&f, "nobody").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(get(&f, "").await.unwrap_err().code(), Code::InvalidArgument);
}

#[tokio::test(start_paused = true)]
async fn list_pages_and_never_shows_secrets() {
    let f = fixture();
    for name in ["a1", "a2", "a3"] {
        create(&f, user(name), PASSWORD).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = f
            .svc
            .list_users(Request::new(ListUsersRequest {
                page_size: 2,
                page_token: token,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(page.users);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 3);
    let printed = format!("{seen:?}");
    assert!(
        !printed.contains("argon2"),
        "no hash on the wire: {printed}"
    );
}

#[tokio::test(start_paused = true)]
async fn update_disable_enable_password_totp_delete() {
    let f = fixture();
    let alice = create(&f, user("alice"), PASSWORD).await.unwrap();
    let update = |u: User| {
        f.svc
            .update_user(Request::new(UpdateUserRequest { user: Some(u) }))
    };
    let mut renamed = alice.clone();
    renamed.username = "Alicia".into();
    renamed.totp_enabled = false;
    let renamed = update(renamed).await.unwrap().into_inner().user.unwrap();
    assert_eq!(renamed.username, "Alicia");
    assert_eq!(renamed.id, alice.id);

    let err = update(User {
        id: String::new(),
        ..renamed.clone()
    })
    .await
    .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "user.id: required")
    );
    let err = update(User {
        totp_enabled: true,
        ..renamed.clone()
    })
    .await
    .unwrap_err();
    assert!(
        err.message().starts_with("user.totp_enabled"),
        "{}",
        err.message()
    );
    let err = update(User {
        id: "nope".into(),
        ..renamed.clone()
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let disabled = f
        .svc
        .disable_user(Request::new(DisableUserRequest {
            user: "alicia".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(disabled.disabled);
    let enabled = update(User {
        disabled: false,
        ..disabled
    })
    .await
    .unwrap()
    .into_inner()
    .user
    .unwrap();
    assert!(!enabled.disabled);

    let before = f.store.get_user(&alice.id).await.unwrap().unwrap();
    f.svc
        .set_password(Request::new(SetPasswordRequest {
            user: alice.id.clone(),
            password: "another-Pa55word".into(),
        }))
        .await
        .unwrap();
    let after = f.store.get_user(&alice.id).await.unwrap().unwrap();
    assert_ne!(before.password_hash, after.password_hash);
    let short = f
        .svc
        .set_password(Request::new(SetPasswordRequest {
            user: alice.id.clone(),
            password: "x".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(short.code(), Code::InvalidArgument);

    let uri = f
        .svc
        .enable_totp(Request::new(EnableTotpRequest {
            user: "ALICIA".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .provisioning_uri;
    assert!(
        uri.starts_with("otpauth://totp/Tessera:Alicia?secret="),
        "{uri}"
    );
    assert!(uri.contains("&issuer=Tessera"));
    assert!(get(&f, "alicia").await.unwrap().totp_enabled);

    f.svc
        .delete_user(Request::new(DeleteUserRequest {
            user: "alicia".into(),
        }))
        .await
        .unwrap();
    assert_eq!(get(&f, &alice.id).await.unwrap_err().code(), Code::NotFound);
    let again = f
        .svc
        .delete_user(Request::new(DeleteUserRequest {
            user: alice.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

fn grant_of(id: &str, user_id: &str) -> crate::datastore::GrantRecord {
    crate::datastore::GrantRecord {
        grant_id: id.into(),
        user_id: user_id.into(),
        client_id: "app".into(),
        scopes: vec![],
        auth_time: 0,
        amr: vec![],
        created_at: 0,
        expires_at: i64::MAX,
        generation: 0,
        rotated_at: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn disabling_or_deleting_an_account_ends_its_grants_and_consents() {
    use crate::datastore::consent_store_tests::put;
    use crate::datastore::{ConsentStore, GrantStore, ScopeUpdate};
    let f = fixture();
    let ann = create(&f, user("ann"), PASSWORD).await.unwrap();
    let bob = create(&f, user("bob"), PASSWORD).await.unwrap();
    for (who, client) in [(&ann.id, "app"), (&bob.id, "app"), (&bob.id, "other")] {
        put(&f.store, (who, client), &["openid"], ScopeUpdate::Merge, 1).await;
    }
    f.store
        .create_grant(&grant_of("g1", &ann.id), "h1")
        .await
        .unwrap();
    f.store
        .create_grant(&grant_of("g2", &bob.id), "h2")
        .await
        .unwrap();
    f.store
        .create_grant(&grant_of("g3", &bob.id), "h3")
        .await
        .unwrap();
    f.svc
        .disable_user(Request::new(DisableUserRequest {
            user: ann.id.clone(),
        }))
        .await
        .unwrap();
    assert!(f.store.get_grant("g1").await.unwrap().is_none());
    assert!(f.store.get_grant("g2").await.unwrap().is_some());
    assert!(f.store.get_consent(&ann.id, "app").await.unwrap().is_none());
    assert!(f.store.get_consent(&bob.id, "app").await.unwrap().is_some());
    f.svc
        .delete_user(Request::new(DeleteUserRequest {
            user: bob.id.clone(),
        }))
        .await
        .unwrap();
    assert!(f.store.get_grant("g2").await.unwrap().is_none());
    assert!(f.store.get_grant("g3").await.unwrap().is_none());
    assert!(f.store.get_consent(&bob.id, "app").await.unwrap().is_none());
    assert!(
        f.store
            .get_consent(&bob.id, "other")
            .await
            .unwrap()
            .is_none()
    );
}
