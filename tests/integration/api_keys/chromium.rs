//! The self-service page of API keys in headless Chromium (playwright-core,
//! `tests/interop/node/chromium_api_keys.mjs`): sign in and come back, create a key with
//! the scope checkboxes, read its secret once, exchange it, revoke it, and a form post
//! without the CSRF token refused with 403 and nothing changed.

use serde_json::{Value, json};

use crate::oauth::chromium::drive_script;

use super::{PASSWORD, claims, server, user_id};

#[test]
fn chromium_creates_uses_and_revokes_a_key_on_the_self_service_page() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = server(dir.path(), "");
    server.create_user("frank", &[], PASSWORD);
    let frank = user_id(&server, "default", "frank");
    let created: Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "exchanger",
        "--grant-type",
        "client_credentials",
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    let page_url = format!("{issuer}/oauth2/api-keys");
    let token_url = format!("{issuer}/oauth2/token");
    let stdin = json!({"password": PASSWORD, "client_secret": secret}).to_string();
    let v = drive_script(
        "chromium_api_keys.mjs",
        &[&page_url, &token_url, "frank", "exchanger"],
        &stdin,
        || server.log(),
    );

    assert_eq!(v["start_status"], 200, "{v}");
    assert_eq!(v["back_on_page"], page_url.as_str(), "{v}");
    assert_eq!(
        v["scope_choices"],
        json!(["openid", "profile", "email"]),
        "{v}"
    );
    assert_eq!(
        v["expiry_choices"],
        json!(["1", "7", "30", "60", "90"]),
        "{v}"
    );
    assert_eq!(v["create_status"], 200, "{v}");
    assert!(
        v["create_csp"]
            .as_str()
            .unwrap_or_default()
            .contains("default-src 'none'"),
        "{v}"
    );
    let key = v["secret"].as_str().unwrap();
    assert!(key.starts_with("tsk_") && key.len() == 53, "{v}");
    assert_eq!(
        tessera_tests::run_cli(&["api-key", "check", key])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(v["secret_after_reload"], 0, "{v}");
    assert_eq!(v["html_has_secret_after_reload"], false, "{v}");
    assert!(
        v["listed"].as_str().unwrap().contains("from-chromium"),
        "{v}"
    );

    // The key the browser created works, as frank's.
    assert_eq!(v["exchange"]["status"], 200, "{v}");
    let c = claims(v["exchange"]["body"]["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], frank.as_str(), "{c}");
    assert_eq!(c["api_key_id"], v["key_id"], "{c}");
    assert_eq!(c["scope"], "email openid", "{c}");
    let shown: Value = serde_json::from_str(&server.ok(&[
        "api-key",
        "show",
        v["key_id"].as_str().unwrap(),
        "--output",
        "json",
    ]))
    .unwrap();
    let lifetime = shown["expires_at"].as_i64().unwrap() - shown["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 7 * 86_400, "{shown}");

    assert_eq!(v["revoke_status"], 200, "{v}");
    assert_eq!(v["state_after_revoke"], "revoked", "{v}");
    assert_eq!(
        v["exchange_after_revoke"],
        json!({"status": 400, "body": {
            "error": "invalid_grant",
            "error_description": "the API key is invalid, expired or revoked"
        }}),
        "{v}"
    );
    assert_eq!(v["forged_status"], 403, "{v}");
    assert_eq!(v["forged_revoke_status"], 403, "{v}");
    assert_eq!(v["keys_before_forgery"], 1, "{v}");
    assert_eq!(v["keys_after_forgery"], 1, "{v}");
    let log = server.log();
    assert!(log.contains("browser_csrf_refused"), "audit event");
    assert!(
        log.contains("self_service"),
        "the actor of the page's changes"
    );
}
