#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_proto::clock::Clock;

use super::*;
use crate::datastore::SledStore;
use crate::datastore::memory::MemoryStore;
use crate::users::password::tests::CHEAP;
use crate::users::{Authenticated, LoginError, RetryAfter, hotp, step_of};

#[derive(Debug)]
struct TestClock(Mutex<SystemTime>);

impl TestClock {
    fn advance(&self, secs: u64) {
        *self.0.lock().unwrap() += Duration::from_secs(secs);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct Fixture<S> {
    accounts: Accounts<S>,
    clock: Arc<TestClock>,
    _dir: tempfile::TempDir,
}

fn fixture_on<S: UserStore>(
    store: S,
    dir: tempfile::TempDir,
    settings: Argon2Settings,
) -> Fixture<S> {
    let clock = Arc::new(TestClock(Mutex::new(
        UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )));
    let sealer = Arc::new(Sealer::open(&dir.path().join("seal.key"), true).unwrap());
    let accounts = Accounts::new(
        store,
        sealer,
        settings,
        LoginGuard::default(),
        clock.clone(),
    );
    Fixture {
        accounts,
        clock,
        _dir: dir,
    }
}

fn fixture() -> Fixture<MemoryStore> {
    fixture_on(MemoryStore::default(), tempfile::tempdir().unwrap(), CHEAP)
}

fn pw(s: &str) -> Password {
    Password::new(Zeroizing::new(s.into())).unwrap()
}

fn raw(s: &str) -> Zeroizing<String> {
    Zeroizing::new(s.into())
}

fn alice() -> NewUser {
    NewUser {
        username: "Alice".into(),
        display_name: "Alice Liddell".into(),
        email: "alice@example.org".into(),
    }
}

impl<S: UserStore + Clone> Fixture<S> {
    /// Creates `new` with the password "correct horse".
    async fn create(&self, new: NewUser) -> Result<UserRecord, UserError> {
        self.accounts.create(new, pw("correct horse")).await
    }

    /// Creates [`alice`] with the password "correct horse".
    async fn create_alice(&self) -> UserRecord {
        self.create(alice()).await.unwrap()
    }

    /// Signs `username` in with `password` from `source`.
    async fn sign_in(
        &self,
        username: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<Authenticated, LoginError> {
        self.accounts
            .authenticate(username, raw(password), source)
            .await
    }
}

/// A fixture on the memory store in which [`alice`] exists.
async fn with_alice() -> (Fixture<MemoryStore>, UserRecord) {
    let f = fixture();
    let alice = f.create_alice().await;
    (f, alice)
}

const SRC: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

fn hashes<S>(f: &Fixture<S>) -> usize {
    f.accounts.passwords.hashes.load(Ordering::SeqCst)
}

#[tokio::test]
async fn fields_are_checked_before_hashing_and_usernames_are_unique_ignoring_case() {
    let f = fixture();
    let bad = NewUser {
        email: "not-an-address".into(),
        ..alice()
    };
    let err = f.create(bad).await.unwrap_err();
    assert!(
        matches!(err, UserError::Invalid { field: "email", .. }),
        "{err}"
    );
    assert_eq!(hashes(&f), 0, "nothing hashed for an invalid request");

    let created = f.create_alice().await;
    assert_eq!(created.id.len(), 22);
    assert_eq!(created.username_key, "alice");
    assert!(created.password_hash.starts_with("$argon2id$"));
    let dup = NewUser {
        username: "ALICE".into(),
        ..alice()
    };
    let err = f.create(dup).await.unwrap_err();
    assert!(
        matches!(err, UserError::AlreadyExists(ref m) if m.contains("ALICE")),
        "{err}"
    );

    for reference in [created.id.as_str(), "alice", "aLiCe"] {
        assert_eq!(f.accounts.find(reference).await.unwrap().id, created.id);
    }
    assert!(matches!(
        f.accounts.find("bob").await,
        Err(UserError::NotFound(_))
    ));
    assert!(matches!(
        f.accounts.find("").await,
        Err(UserError::Invalid { field: "user", .. })
    ));
}

#[tokio::test]
async fn update_disable_password_and_delete() {
    let (f, created) = with_alice().await;
    f.clock.advance(10);
    let changes = UserChanges {
        username: "alice2".into(),
        display_name: "A.".into(),
        email: String::new(),
        disabled: true,
        totp_enabled: false,
    };
    let updated = f.accounts.update(&created.id, changes).await.unwrap();
    assert_eq!(updated.username_key, "alice2");
    assert!(updated.disabled);
    assert_eq!(updated.updated_at, created.created_at + 10);
    assert_eq!(updated.created_at, created.created_at);
    let enabled = f.accounts.set_disabled("ALICE2", false).await.unwrap();
    assert!(!enabled.disabled);

    let old_hash = enabled.password_hash.clone();
    let changed = f
        .accounts
        .set_password("alice2", pw("new password!"))
        .await
        .unwrap();
    assert_ne!(changed.password_hash, old_hash);
    assert!(f.sign_in("alice2", "new password!", SRC).await.is_ok());

    let deleted = f.accounts.delete(&created.id).await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert!(matches!(
        f.accounts.find("alice2").await,
        Err(UserError::NotFound(_))
    ));
}

#[tokio::test]
async fn sign_in_refusals_look_alike_and_unknown_users_cost_one_verification() {
    let (f, _) = with_alice().await;
    let before = hashes(&f);
    let ok = f.sign_in("ALICE", "correct horse", SRC).await.unwrap();
    assert!(!ok.totp_required);
    assert_eq!(hashes(&f) - before, 1);

    // Removing the dummy verification makes the unknown user's case fail.
    for (name, why) in [
        ("alice", "a known user costs one verification"),
        ("mallory", "an unknown user costs one verification too"),
    ] {
        let before = hashes(&f);
        let refused = f.sign_in(name, "wrong horse", SRC).await;
        assert!(
            matches!(refused, Err(LoginError::InvalidCredentials)),
            "{name}"
        );
        assert_eq!(hashes(&f) - before, 1, "{why}");
    }

    f.accounts.set_disabled("alice", true).await.unwrap();
    let disabled = f.sign_in("alice", "correct horse", SRC).await;
    assert!(matches!(disabled, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn brute_force_is_throttled_alike_for_known_and_unknown_users() {
    let (f, _) = with_alice().await;
    for n in 0..6u8 {
        let src = IpAddr::from([198, 51, 100, n]);
        for name in ["alice", "nobody"] {
            let r = f.sign_in(name, "wrong horse", src).await;
            assert!(
                matches!(r, Err(LoginError::InvalidCredentials)),
                "{name} {n}: {r:?}"
            );
        }
    }
    let src = IpAddr::from([198, 51, 100, 99]);
    for name in ["alice", "nobody"] {
        let r = f.sign_in(name, "correct horse", src).await;
        assert!(
            matches!(r, Err(LoginError::Throttled(RetryAfter { seconds: 1 }))),
            "{name}: {r:?}"
        );
    }
    settle().await;
    let stored = f.accounts.find("alice").await.unwrap();
    assert_eq!(stored.login.failures, 6, "counters persisted in the record");
    f.clock.advance(1);
    f.sign_in("alice", "correct horse", src).await.unwrap();
    let stored = f.accounts.find("alice").await.unwrap();
    assert_eq!(
        stored.login,
        LoginCounters::default(),
        "success clears them"
    );
}

#[tokio::test]
async fn a_new_password_lifts_a_lock_out() {
    let (f, _) = with_alice().await;
    for n in 0..6u8 {
        let src = IpAddr::from([203, 0, 113, n]);
        let r = f.sign_in("alice", "wrong horse", src).await;
        assert!(matches!(r, Err(LoginError::InvalidCredentials)));
    }
    settle().await;
    let r = f.sign_in("alice", "correct horse", SRC).await;
    assert!(matches!(r, Err(LoginError::Throttled(_))), "{r:?}");
    f.accounts
        .set_password("alice", pw("brand new pw"))
        .await
        .unwrap();
    f.sign_in("alice", "brand new pw", SRC).await.unwrap();
}

/// Lets the background writes of failed sign-ins run (single-threaded test runtime).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// A failure answers before the account's counters are written, so a known username does
/// not take a datastore write longer than an unknown one. Writing them inline before
/// answering makes this fail.
#[tokio::test]
async fn a_failure_answers_without_waiting_for_the_counter_write() {
    let (f, created) = with_alice().await;
    let r = f.sign_in("alice", "wrong horse", SRC).await;
    assert!(matches!(r, Err(LoginError::InvalidCredentials)));
    let stored_failures = async || {
        let stored = f.accounts.store.get_user(&created.id).await.unwrap();
        stored.unwrap().login.failures
    };
    assert_eq!(stored_failures().await, 0);
    settle().await;
    assert_eq!(stored_failures().await, 1);
}

#[tokio::test]
async fn a_match_under_old_parameters_is_rehashed_transparently() {
    let (f, _) = with_alice().await;
    let stronger = Argon2Settings {
        memory_kib: 128,
        iterations: 2,
        parallelism: 1,
    };
    let accounts = Accounts::new(
        f.accounts.store.clone(),
        f.accounts.sealer.clone(),
        stronger,
        LoginGuard::default(),
        f.clock.clone(),
    );
    accounts
        .authenticate("alice", raw("correct horse"), SRC)
        .await
        .unwrap();
    let stored = accounts.find("alice").await.unwrap();
    assert!(
        stored
            .password_hash
            .starts_with("$argon2id$v=19$m=128,t=2,p=1$"),
        "{}",
        stored.password_hash
    );
    accounts
        .authenticate("alice", raw("correct horse"), SRC)
        .await
        .unwrap();
}

fn secret_of(uri: &str) -> Vec<u8> {
    let b32 = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap()
}

#[tokio::test]
async fn totp_is_a_second_factor_used_once() {
    let (f, _) = with_alice().await;
    let (user, uri) = f.accounts.enable_totp("alice").await.unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Tessera:Alice?secret="),
        "{}",
        uri.as_str()
    );
    let secret = secret_of(&uri);
    assert_eq!(secret.len(), 20);

    let first = f.sign_in("alice", "correct horse", SRC).await.unwrap();
    assert!(first.totp_required);
    let now = unix_seconds(f.clock.now());
    let code = format!("{:06}", hotp(&secret, step_of(now), 6));
    let wrong = format!("{:06}", (hotp(&secret, step_of(now), 6) + 1) % 1_000_000);
    assert!(matches!(
        f.accounts.verify_second_factor(&user.id, &wrong, SRC).await,
        Err(LoginError::InvalidCredentials)
    ));
    f.accounts
        .verify_second_factor(&user.id, &code, SRC)
        .await
        .unwrap();
    assert!(
        matches!(
            f.accounts.verify_second_factor(&user.id, &code, SRC).await,
            Err(LoginError::InvalidCredentials)
        ),
        "a code is accepted once"
    );
    // Turning TOTP off through update.
    let changes = UserChanges {
        username: user.username.clone(),
        totp_enabled: false,
        ..Default::default()
    };
    let off = f.accounts.update(&user.id, changes).await.unwrap();
    assert!(off.totp.is_none());
    assert!(
        !f.sign_in("alice", "correct horse", SRC)
            .await
            .unwrap()
            .totp_required
    );
}

/// The TOTP secret is stored sealed: neither its bytes, nor its base32 or hex form appear
/// anywhere in the database files, and the sealed value opens only for its own user.
#[tokio::test]
async fn the_totp_secret_is_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&dir.path().join("db")).unwrap();
    let f = fixture_on(store.clone(), dir, CHEAP);
    let created = f.create_alice().await;
    let (user, uri) = f.accounts.enable_totp("alice").await.unwrap();
    let secret = secret_of(&uri);
    let b32 = data_encoding::BASE32_NOPAD.encode(&secret);
    drop(f.accounts);
    drop(store);

    let mut files = vec![f._dir.path().join("db")];
    let mut scanned = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for needle in [
            secret.as_slice(),
            b32.as_bytes(),
            hex::encode(&secret).as_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "secret in plaintext in {}",
                path.display()
            );
        }
        assert!(
            !bytes.windows(11).any(|w| w == b"correct hor"),
            "password on disk"
        );
    }
    assert!(scanned > 0);

    let reopened = SledStore::open(&f._dir.path().join("db")).unwrap();
    let stored = reopened.get_user(&created.id).await.unwrap().unwrap();
    let sealer = Sealer::open(&f._dir.path().join("seal.key"), false).unwrap();
    let sealed = stored.totp.clone().unwrap();
    let opened = sealer
        .unseal(&sealed, &super::totp_context(&user.id))
        .unwrap();
    assert_eq!(opened.as_slice(), secret.as_slice());
    assert!(
        sealer
            .unseal(&sealed, &super::totp_context("someone-else"))
            .is_err()
    );
}

/// Issue 11 §1: `set-password` ends what the old password started: the account's refresh
/// grants at once, its browser sessions through the credential stamp.
#[tokio::test]
async fn set_password_revokes_the_accounts_grants_and_changes_its_stamp() {
    use crate::datastore::GrantStore as _;
    use crate::oauth::grants::{GrantLifetimes, GrantStart, Grants};
    let (f, alice) = with_alice().await;
    let grants = Grants::new(f.accounts.store().clone(), GrantLifetimes::default());
    let start = GrantStart {
        user_id: alice.id.clone(),
        client_id: "web".into(),
        scopes: vec!["openid".into()],
        auth_time: 1,
        amr: vec!["pwd".into()],
    };
    let now = f.clock.now();
    let (grant_id, _) = grants.start(start, now).await.unwrap();
    let store = f.accounts.store().clone();
    assert!(store.get_grant(&grant_id).await.unwrap().is_some());
    let before = f.accounts.account_stamp(&alice.id).await.unwrap().unwrap();
    f.accounts
        .set_password("alice", pw("another password"))
        .await
        .unwrap();
    let after = f.accounts.account_stamp(&alice.id).await.unwrap().unwrap();
    assert_ne!(before, after, "a new password gives a new stamp");
    assert!(
        store.get_grant(&grant_id).await.unwrap().is_none(),
        "the grant ended with the old password"
    );
    f.accounts.set_disabled("alice", true).await.unwrap();
    assert_eq!(f.accounts.account_stamp(&alice.id).await.unwrap(), None);
    f.accounts.set_disabled("alice", false).await.unwrap();
    assert_eq!(
        f.accounts.account_stamp(&alice.id).await.unwrap(),
        Some(after)
    );
    f.accounts.delete("alice").await.unwrap();
    assert_eq!(f.accounts.account_stamp(&alice.id).await.unwrap(), None);
}
