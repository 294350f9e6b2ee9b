//! The authorization code flow end to end through the real binary, driven by the unmodified
//! npm `openid-client` v6 (`tests/interop/node/auth_code.mjs`): a user and a public client
//! made with the CLI, PKCE + state + nonce, the login and consent pages, the code grant with
//! an ID token openid-client verifies, UserInfo, and a code replay that revokes the token.

use serde_json::json;
use tessera_tests::free_port;

const PASSWORD: &str = "Auth-Code-Passw0rd";

#[test]
fn openid_client_signs_in_with_the_code_flow_and_reads_userinfo() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user(
        "dora",
        &[
            "--display-name",
            "Dora Explorer",
            "--email",
            "dora@example.org",
        ],
        PASSWORD,
    );
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    super::create_spa_client(&server, "node-spa", &redirect);

    let v = super::openid_client(
        "auth_code.mjs",
        &[&issuer, "node-spa", &redirect, "dora"],
        PASSWORD,
        || server.log(),
    );
    assert_eq!(v["redirect_base"], redirect.as_str(), "{v}");
    assert_eq!(v["iss_param"], issuer.as_str(), "{v}");
    assert_eq!(
        v["token_type"], "bearer",
        "openid-client lowercases it: {v}"
    );
    assert_eq!(v["scope"], "openid profile email", "{v}");
    assert!(v["expires_in"].as_u64().is_some_and(|s| s > 0), "{v}");
    assert_eq!(
        v["id_token_header"],
        json!({"alg": "ES256", "typ": "JWT"}),
        "{v}"
    );
    let id = &v["id_token"];
    assert_eq!(id["iss"], issuer.as_str(), "{v}");
    assert_eq!(id["aud"], "node-spa", "{v}");
    assert_eq!(id["azp"], "node-spa", "{v}");
    assert_eq!(id["nonce_ok"], true, "{v}");
    assert_eq!(id["has_at_hash"], true, "{v}");
    assert!(id["auth_time"].as_i64().is_some(), "{v}");
    assert!(
        id["amr"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("pwd"))),
        "{v}"
    );
    let sub = id["sub"].as_str().unwrap();
    assert_ne!(sub, "dora", "sub is the opaque user id, not the username");

    let u = &v["userinfo"];
    assert_eq!(u["sub"], sub, "{v}");
    assert_eq!(u["preferred_username"], "dora", "{v}");
    assert_eq!(u["name"], "Dora Explorer", "{v}");
    assert_eq!(u["email"], "dora@example.org", "{v}");
    assert_eq!(u["email_verified"], false, "{v}");

    let r = &v["refresh"];
    assert_eq!(r["issued"], true, "a refresh_token client gets one: {v}");
    assert_eq!(r["rotated"], true, "every refresh rotates: {v}");
    assert_eq!(
        r["reuse"], "invalid_grant",
        "a rotated token is refused: {v}"
    );
    assert_eq!(
        r["newest_after_reuse"], "invalid_grant",
        "reuse revokes the whole family: {v}"
    );

    assert_eq!(v["replay"], "invalid_grant", "{v}");
    assert_eq!(
        v["after_replay"], "invalid_token",
        "a replayed code must revoke its access token: {v}"
    );

    let log = server.log();
    assert!(!log.contains(PASSWORD), "the password reached the log");
    assert!(log.contains("oauth_code"), "audit events");
    assert!(
        log.contains("\"replay\"") || log.contains("replay"),
        "replay audit"
    );
}
