//! The authorization code grant starts a refresh-token family; replaying the code revokes it.

use axum::http::StatusCode;

use super::code_support::{REDIRECT, VERIFIER};
use super::fakes::start_time;
use super::refresh::{error_of, world};
use crate::oauth::codes::CodeGrant;
use crate::oauth::http::pkce::challenge_of;

#[tokio::test]
async fn a_code_starts_a_refresh_family_and_a_replay_of_the_code_revokes_it() {
    let w = world().await;
    let grant = CodeGrant {
        client_id: "spa".into(),
        redirect_uri: REDIRECT.into(),
        user_id: "u-alice".into(),
        scopes: vec!["openid".into()],
        code_challenge: challenge_of(VERIFIER),
        nonce: None,
        auth_time: 1,
        amr: vec!["pwd".into()],
    };
    let code = w.server.codes().issue(grant, start_time()).await.unwrap();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = w.post_as("spa", "/oauth2/token", &redeem).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    // The family works: one rotation.
    let (status, body) = w.refresh("spa", &first, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();

    // Replaying the code is refused and kills the family, newest token included.
    let (status, body) = w.post_as("spa", "/oauth2/token", &redeem).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    let (status, body) = w.refresh("spa", &rotated, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_grant");
}
