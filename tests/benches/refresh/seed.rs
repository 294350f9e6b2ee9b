//! Refresh-token families for the refresh benchmarks (`refresh`, `ha`), seeded through the
//! server crate's own API on any backend: a public client that may refresh, users, and one
//! grant per family started with `Grants::start` (the hash stored, the token returned).

use std::time::SystemTime;

use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use tessera_server::datastore::{
    GrantStore, LoginCounters, OAuthClientStore, RefreshReads, UserRecord, UserStore,
};
use tessera_server::oauth::grants::{GrantStart, Grants};
use tokio::task::JoinSet;

/// Users the families belong to (round robin).
pub const USERS: usize = 100;

fn user(i: usize) -> UserRecord {
    UserRecord {
        id: format!("user-{i}"),
        username: format!("user{i}"),
        username_key: format!("user{i}"),
        display_name: String::new(),
        email: String::new(),
        password_hash: String::new(),
        totp: None,
        totp_last_step: 0,
        disabled: false,
        login: LoginCounters::default(),
        created_at: 0,
        updated_at: 0,
        revision: 0,
    }
}

/// Creates the public client `client_id` (authorization_code + refresh_token, no
/// authentication, like a SPA), [`USERS`] users and `families` grants, `concurrency` starts
/// at a time; returns each family's first refresh token.
pub async fn seed<S>(
    store: &S,
    grants: &Grants<S>,
    client_id: &str,
    families: usize,
    concurrency: usize,
) -> Vec<String>
where
    S: GrantStore + OAuthClientStore + UserStore + RefreshReads + Clone,
{
    let client = OAuthClient {
        client_id: client_id.into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into()],
        auth_method: "none".into(),
        public: true,
        enabled: true,
        ..Default::default()
    };
    store.create_oauth_client(&client, None).await.unwrap();
    for i in 0..USERS {
        store.create_user(&user(i)).await.unwrap();
    }
    let mut tasks = JoinSet::new();
    for w in 0..concurrency {
        let grants = grants.clone();
        let client_id = client_id.to_owned();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for i in (w..families).step_by(concurrency) {
                let start = GrantStart {
                    user_id: format!("user-{}", i % USERS),
                    client_id: client_id.clone(),
                    scopes: vec!["openid".into(), "profile".into()],
                    auth_time: 0,
                    amr: vec!["pwd".into()],
                };
                let (_, token) = grants.start(start, SystemTime::now()).await.unwrap();
                out.push((i, token.expose().to_owned()));
            }
            out
        });
    }
    let mut tokens = vec![String::new(); families];
    while let Some(done) = tasks.join_next().await {
        for (i, t) in done.unwrap() {
            tokens[i] = t;
        }
    }
    tokens
}
