//! The shared behavioural suites on PostgreSQL, and what only a shared database shows:
//! concurrent writers, racing replicas' migrations, errors without the password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::test_db::TestDb;
use super::{PgOpenError, PgSettings, PgStore};
use crate::datastore::{
    DatastoreError, EntryStore, GrantRecord, GrantStore, JoinTokenRecord, JoinTokenStore, Rotation,
    consent_store_tests, entry_store_tests, grant_store_tests, user_store_tests,
};

#[tokio::test]
async fn postgres_passes_the_entry_store_suite() {
    let db = TestDb::create().await;
    entry_store_tests::exercise(&db.store().await).await;
}

/// A write through one store (replica) is heard by another's listener, and a listener
/// whose connection is killed reconnects and says "everything" first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_hears_another_replicas_writes_and_survives_being_killed() {
    use crate::changes::{Change, ChangeHub};
    use tokio_util::sync::CancellationToken;
    let db = TestDb::create().await;
    let (writer, listening) = (db.store().await, db.store().await);
    let hub = ChangeHub::default();
    let mut changes = hub.subscribe();
    let stop = CancellationToken::new();
    let task = tokio::spawn(listening.change_listener(hub).run(stop.clone()));
    // Connected: it says "everything" once.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), changes.next()).await;
    assert_eq!(first.unwrap(), Some(Change::Everything));
    crate::changes::store_tests::exercise(&writer, &mut changes).await;

    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    // The application role sees and signals only its own sessions: kill as the login.
    .fetch_all(&db.login_pool().await)
    .await
    .unwrap();
    assert_eq!(killed, [(true,)]);
    let again = tokio::time::timeout(std::time::Duration::from_secs(20), changes.next()).await;
    assert_eq!(again.unwrap(), Some(Change::Everything), "reconnected");
    crate::changes::store_tests::exercise(&writer, &mut changes).await;
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn postgres_passes_the_user_store_suite() {
    let db = TestDb::create().await;
    user_store_tests::exercise(&db.store().await).await;
}

#[tokio::test]
async fn postgres_passes_the_grant_store_suite() {
    let db = TestDb::create().await;
    let store = db.store().await;
    grant_store_tests::exercise(&store).await;
    grant_store_tests::exercise_refresh_reads(&store).await;
}

#[tokio::test]
async fn postgres_passes_the_record_store_suites() {
    let db = TestDb::create().await;
    let store = db.store().await;
    crate::datastore::agent_store_tests::exercise(&store).await;
    crate::datastore::join_token_store_tests::exercise(&store).await;
    crate::datastore::oauth_client_store_tests::exercise(&store).await;
    crate::datastore::journal_store_tests::exercise(&store).await;
    crate::datastore::federation_store_tests::exercise(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_expiring_store_suite() {
    let db = TestDb::create().await;
    crate::datastore::expiring_store_tests::exercise(&db.store().await).await;
    crate::datastore::expiring_store_tests::races(Arc::new(db.store().await)).await;
}

#[tokio::test]
async fn postgres_passes_the_tenant_suite() {
    let db = TestDb::create().await;
    crate::datastore::tenant_store_tests::exercise(&db.store().await).await;
}

#[tokio::test]
async fn a_tenant_scoped_postgres_store_passes_the_tenant_owned_suites() {
    let db = TestDb::create().await;
    crate::datastore::tenant_store_tests::scoped_suites(&db.store().await).await;
}

#[tokio::test]
async fn postgres_passes_the_consent_store_suite() {
    let db = TestDb::create().await;
    consent_store_tests::exercise(&db.store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_rotations_of_one_token_exactly_one_wins() {
    let db = TestDb::create().await;
    let store = Arc::new(db.store().await);
    for round in 0..10 {
        let id = format!("g{round}");
        let grant = GrantRecord {
            grant_id: id.clone(),
            user_id: "u".into(),
            client_id: "c".into(),
            scopes: vec!["openid".into()],
            auth_time: 1,
            amr: vec![],
            created_at: 1,
            expires_at: 1000,
            generation: 0,
            rotated_at: 1,
        };
        let first = format!("{id}-h0");
        store.create_grant(&grant, &first).await.unwrap();
        let racers: Vec<_> = (0..6)
            .map(|i| {
                let (store, id, first) = (store.clone(), id.clone(), first.clone());
                tokio::spawn(async move {
                    let new = format!("{id}-n{i}");
                    let rotation = Rotation {
                        grant_id: &id,
                        old_hash: &first,
                        expected_generation: 0,
                        new_hash: &new,
                        now: 5,
                    };
                    store.rotate_refresh_token(&rotation).await.unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for r in racers {
            if r.await.unwrap().is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
        assert_eq!(store.get_grant(&id).await.unwrap().unwrap().generation, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_concurrent_join_token_taker_wins() {
    let db = TestDb::create().await;
    let store = Arc::new(db.store().await);
    for round in 0..10 {
        let hash = format!("t{round}");
        let record = JoinTokenRecord {
            token_hash: hash.clone(),
            expires_at: 100,
            agent_id: String::new(),
        };
        store.create_join_token(&record).await.unwrap();
        assert!(matches!(
            store.create_join_token(&record).await,
            Err(DatastoreError::AlreadyExists(_))
        ));
        let takers: Vec<_> = (0..6)
            .map(|_| {
                let (store, hash) = (store.clone(), hash.clone());
                tokio::spawn(async move { store.take_join_token(&hash).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for t in takers {
            if t.await.unwrap().is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    store
        .create_join_token(&JoinTokenRecord {
            token_hash: "old".into(),
            expires_at: 5,
            agent_id: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(store.prune_join_tokens(5).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_entry_writers_get_distinct_gapless_revisions() {
    let db = TestDb::create().await;
    let store = Arc::new(db.store().await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        let e = entry_store_tests::entry(&format!("e{i:02}"), &format!("/w{i}"), "/p", &["u:1"]);
        set.spawn(async move { store.create_entry(e).await.unwrap().revision });
    }
    let mut revisions = Vec::new();
    while let Some(r) = set.join_next().await {
        revisions.push(r.unwrap());
    }
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=40).collect::<Vec<u64>>());
    assert_eq!(
        store
            .entries_by_parent("spiffe://td/p")
            .await
            .unwrap()
            .len(),
        40
    );
}

/// Replicas starting together: every one migrates, none fails on a half-made schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_together_all_succeed() {
    let db = TestDb::create().await;
    let settings = db.settings();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let settings = settings.clone();
        set.spawn(async move { PgStore::migrate_only(&settings).await });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().unwrap();
    }
    let store = db.store().await;
    assert_eq!(store.entries_revision().await.unwrap(), 0);
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_binary_is_refused() {
    let db = TestDb::create().await;
    let store = db.store().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&db.login_pool().await)
    .await
    .unwrap();
    store.close().await;
    let err = PgStore::open(&db.settings()).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgOpenError::SchemaTooNew {
                version: 99990101000000
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("newer than this tessera-server"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_database_or_bad_login_never_shows_the_password() {
    // Nothing listens on port 1.
    let settings = PgSettings {
        connection_string: zeroize::Zeroizing::new(
            "postgres://tessera:hunter2-secret@127.0.0.1:1/tessera".into(),
        ),
        ro_connection_string: None,
        max_connections: 1,
        client_cache_ttl: std::time::Duration::ZERO,
    };
    let err = PgStore::open(&settings).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, PgOpenError::Unreachable { .. }), "{shown}");
    assert!(shown.contains("127.0.0.1:1/tessera"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");

    // A login the real server refuses (no such role): the message names no password.
    let admin = super::test_db::admin_options();
    let url = format!(
        "postgres://nosuchuser:hunter2-secret@{}:{}/nosuchdb",
        admin.get_host(),
        admin.get_port()
    );
    let settings = PgSettings {
        connection_string: zeroize::Zeroizing::new(url),
        ..settings
    };
    let err = PgStore::open(&settings).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test]
async fn a_lost_database_is_unavailable() {
    let db = TestDb::create().await;
    let store = db.store().await;
    store.close().await;
    let err = store.entries_revision().await.unwrap_err();
    assert!(matches!(err, DatastoreError::Unavailable(_)), "{err}");
}

/// `sslmode=require` negotiates TLS (rustls) with the server.
#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    let db = TestDb::create().await;
    let separator = if db.url.contains('?') { '&' } else { '?' };
    let settings = PgSettings {
        connection_string: zeroize::Zeroizing::new(format!("{}{separator}sslmode=require", db.url)),
        ..db.settings()
    };
    let store = PgStore::open(&settings).await.unwrap();
    // pg_stat_ssl shows a session to its own login role: leave the application role on a
    // connection of the store's pool (closed afterwards, never returned to the pool).
    let mut conn = store.pool.acquire().await.unwrap().detach();
    sqlx::raw_sql("RESET ROLE")
        .execute(&mut conn)
        .await
        .unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(ssl, "the connection is not encrypted");
}

/// Connections killed by the server (a restart, a failover) are replaced by the pool: the
/// next request works without restarting tessera-server.
#[tokio::test]
async fn connections_killed_by_the_server_are_replaced() {
    let db = TestDb::create().await;
    let store = db.store().await;
    assert_eq!(store.entries_revision().await.unwrap(), 0);
    let admin = db.login_pool().await;
    let kill = || async {
        let (killed,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
        )
        .fetch_one(&admin)
        .await
        .unwrap();
        assert!(killed >= 1, "no connection of the store was killed");
    };

    // Killed while idle for over a second: pinged before use, replaced, nothing fails.
    kill().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store
        .create_entry(entry_store_tests::entry("a", "/w", "/p", &["u:1"]))
        .await
        .unwrap();
    assert_eq!(store.entries_revision().await.unwrap(), 1);

    // Killed right after their last use (not pinged): each such connection fails one
    // statement as unavailable — never as anything else, never half written — and is
    // replaced.
    let open = store.pool.size();
    kill().await;
    let mut failures = 0;
    for n in 0..10 {
        let id = format!("b{n}");
        match store
            .create_entry(entry_store_tests::entry(
                &id,
                "/w",
                "/p",
                &[&format!("u:b{n}")],
            ))
            .await
        {
            Ok(_) => break,
            Err(DatastoreError::Unavailable(_)) => failures += 1,
            Err(other) => panic!("a dead connection surfaced as {other:?}"),
        }
    }
    assert!(
        failures <= open,
        "dead connections were not replaced: {failures} failures, {open} connections"
    );
    assert_eq!(store.entries_revision().await.unwrap(), 2);
}

/// The client cache's stated bound: another replica's change is seen after at most the
/// TTL (here long, so the old value is still served), this replica's own change at once.
#[tokio::test]
async fn a_cached_client_is_stale_at_most_until_its_ttl_and_local_changes_show_at_once() {
    use crate::datastore::OAuthClientStore as _;
    use tessera_proto::wire::tessera::admin::v1::OAuthClient;

    let db = TestDb::create().await;
    let long = PgSettings {
        client_cache_ttl: std::time::Duration::from_secs(60),
        ..db.settings()
    };
    let a = PgStore::open(&long).await.unwrap();
    let b = PgStore::open(&long).await.unwrap();
    let client = OAuthClient {
        client_id: "svc".into(),
        enabled: true,
        ..Default::default()
    };
    a.create_oauth_client(&client, None).await.unwrap();
    assert!(b.get_oauth_client("svc").await.unwrap().unwrap().enabled);
    let disabled = OAuthClient {
        enabled: false,
        ..client
    };
    a.update_oauth_client(&disabled).await.unwrap();
    assert!(!a.get_oauth_client("svc").await.unwrap().unwrap().enabled);
    assert!(
        b.get_oauth_client("svc").await.unwrap().unwrap().enabled,
        "within the TTL, the other replica may still use what it read"
    );
    b.delete_oauth_client("svc").await.unwrap();
    assert!(b.get_oauth_client("svc").await.unwrap().is_none());

    // With no TTL, every read goes to the database.
    let none = PgStore::open(&PgSettings {
        client_cache_ttl: std::time::Duration::ZERO,
        ..db.settings()
    })
    .await
    .unwrap();
    a.create_oauth_client(&disabled, None).await.unwrap();
    assert!(!none.get_oauth_client("svc").await.unwrap().unwrap().enabled);
    a.update_oauth_client(&OAuthClient {
        enabled: true,
        ..disabled
    })
    .await
    .unwrap();
    assert!(none.get_oauth_client("svc").await.unwrap().unwrap().enabled);
}

#[tokio::test]
async fn postgres_passes_the_api_key_store_suite() {
    let db = TestDb::create().await;
    crate::datastore::api_key_store_tests::exercise(&db.store().await).await;
}
