//! Row-level security on PostgreSQL: the application role is bound by the tenant
//! policies, in scoped transactions and in migration 9's one-call functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::test_db::TestDb;
use super::{PgOpenError, PgStore};
use crate::datastore::tenant_store_tests::scoped;
use crate::datastore::{TenantId, TenantScope as _, UserStore as _, user_store_tests};

/// Creates the tenants `acme` and `globex`; returns a handle scoped to each.
async fn tenants(store: &PgStore) -> [PgStore; 2] {
    [scoped(store, "acme").await, scoped(store, "globex").await]
}

/// Row-level security isolates tenants even from a statement that forgot its tenant
/// filter: the application role sees nothing without a tenant set, only that tenant's
/// rows with one, and cannot write another tenant's rows.
#[tokio::test]
async fn row_level_security_binds_the_application_role() {
    let db = TestDb::create().await;
    let store = db.store().await;
    for (id, scoped) in ["acme", "globex"].into_iter().zip(tenants(&store).await) {
        for n in 0..3 {
            let user = user_store_tests::record(&format!("{id}-{n}"), &format!("user{n}"));
            scoped.create_user(&user).await.unwrap();
        }
    }
    // No tenant set: no rows, though six exist.
    let (none,): (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
    let (all,): (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&db.login_pool().await)
        .await
        .unwrap();
    assert_eq!(all, 6, "the owner (a superuser here) sees every row");
    // acme set: only acme's rows, with no tenant filter in the statement.
    let acme = store.for_tenant(&TenantId::parse("acme").unwrap()).unwrap();
    let mut tx = acme.scoped(&acme.pool, "test").await.unwrap();
    let tenants: Vec<(String,)> = sqlx::query_as("SELECT tenant_id FROM users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenants, vec![("acme".to_string(),); 3]);
    // An unfiltered update touches acme's rows only.
    let done = sqlx::query("UPDATE users SET revision = revision + 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 3);
    // Writing a row of another tenant is refused by the policy.
    let refused = sqlx::query(
        "INSERT INTO users (tenant_id, id, username_key, revision, data) \
         VALUES ('globex', 'x', 'intruder', 1, '\\x7b7d'::bytea)",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    let code = refused.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "42501", "{refused}");
    assert!(
        refused.to_string().contains("row-level security"),
        "{refused}"
    );
    drop(tx);
    // The tenant set by a transaction ends with it.
    let (after,): (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(after, 0);
    // A role that bypasses row-level security is refused at start.
    let refused = super::open::check_row_security(&db.login_pool().await).await;
    assert!(
        matches!(&refused, Err(PgOpenError::BypassesRowSecurity { .. })),
        "{refused:?}"
    );
    super::open::check_row_security(&store.pool).await.unwrap();
}

/// Migration 0009's one-call functions run as their caller (SECURITY INVOKER), so the
/// policies bind them; they find only their tenant's rows, and the tenant they set ends
/// with their call: no pooled connection keeps it.
#[tokio::test]
async fn one_call_functions_bind_the_caller_and_leave_no_tenant_behind() {
    let db = TestDb::create().await;
    let store = db.store().await;
    let [acme, globex] = tenants(&store).await;
    let user = user_store_tests::record("acme-0", "user0");
    acme.create_user(&user).await.unwrap();
    // Many calls at once, so that they spread over the pool's connections.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let acme = acme.clone();
        calls.spawn(async move { acme.get_user("acme-0").await });
    }
    while let Some(found) = calls.join_next().await {
        assert_eq!(
            found.unwrap().unwrap().map(|u| u.id).as_deref(),
            Some("acme-0")
        );
    }
    assert!(globex.get_user("acme-0").await.unwrap().is_none());
    // Every pooled connection: no tenant set, so no rows.
    let mut held = Vec::new();
    for _ in 0..store.pool.size() {
        let mut conn = store.pool.acquire().await.unwrap();
        let (tenant, users): (String, i64) = sqlx::query_as(
            "SELECT coalesce(current_setting('tessera.tenant_id', true), ''), \
             (SELECT count(*) FROM users)",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!((tenant.as_str(), users), ("", 0));
        held.push(conn);
    }
    assert!(
        held.len() > 1,
        "the calls used {} connection(s)",
        held.len()
    );
    drop(held);
    let functions: Vec<(String, bool)> = sqlx::query_as(
        "SELECT proname::text, prosecdef FROM pg_proc \
         WHERE proname LIKE 'tessera\\_%' ORDER BY proname",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    let definers: Vec<&str> = functions
        .iter()
        .filter(|(_, definer)| *definer)
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(definers.is_empty(), "SECURITY DEFINER: {definers:?}");
    for name in [
        "tessera_find_refresh_token_and_user",
        "tessera_get_user",
        "tessera_rotate_refresh_token",
    ] {
        assert!(functions.iter().any(|(f, _)| f == name), "{name} missing");
    }
}
