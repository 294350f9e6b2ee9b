//! OpenID Connect RP-Initiated Logout end to end through the real binary: a client made with
//! `client create --post-logout-redirect-uri`, the npm `openid-client` v6 signing in with the
//! code flow and then logging out with `buildEndSessionUrl` (`tests/interop/node/logout.mjs`),
//! and headless Chromium following the post-logout redirect (`chromium_logout.mjs`).

use serde_json::Value;
use tessera_tests::free_port;

const PASSWORD: &str = "Logout-Passw0rd-9";

#[test]
fn openid_client_logs_out_with_the_end_session_endpoint_and_lands_on_the_registered_uri() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user("lena", &[], PASSWORD);
    let app = format!("http://127.0.0.1:{}", free_port());
    let redirect = format!("{app}/callback");
    let bye = format!("{app}/signed-out?from=tessera");
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "node-app",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        &redirect,
        "--post-logout-redirect-uri",
        &bye,
        "--scope",
        "openid",
        "--public",
    ]);
    let shown: Value = serde_json::from_str(&server.ok(&[
        "client",
        "show",
        "--client-id",
        "node-app",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(shown["post_logout_redirect_uris"], serde_json::json!([bye]));
    let pretty = server.ok(&["client", "show", "--client-id", "node-app"]);
    assert!(pretty.contains(&bye), "{pretty}");

    let v = super::openid_client(
        "logout.mjs",
        &[&issuer, "node-app", &redirect, &bye, "lena"],
        PASSWORD,
        || server.log(),
    );
    let endpoint = format!("{issuer}/oauth2/logout");
    assert_eq!(v["end_session_endpoint"], endpoint.as_str(), "{v}");
    assert_eq!(v["end_session_url"], endpoint.as_str(), "{v}");
    assert_eq!(v["before_logout"], "code", "signed in before: {v}");
    assert_eq!(v["unregistered"]["status"], 400, "{v}");
    assert_eq!(
        v["unregistered"]["location"],
        Value::Null,
        "never a redirect: {v}"
    );
    let csp = v["confirm_csp"].as_str().unwrap_or_default();
    assert!(csp.contains(&format!("form-action 'self' {app};")), "{v}");
    assert_eq!(v["still_signed_in_before_confirming"], "code", "{v}");
    assert_eq!(v["logout_status"], 303, "{v}");
    assert_eq!(v["landed_base"], format!("{app}/signed-out"), "{v}");
    assert_eq!(v["state_ok"], true, "{v}");
    assert_eq!(
        v["landed_params"],
        serde_json::json!(["from", "state"]),
        "{v}"
    );
    assert_eq!(v["after_shows_login"], true, "the session is gone: {v}");
    assert_eq!(v["after_silent"], "login_required", "{v}");

    let log = server.log();
    assert!(log.contains("browser_signed_out"), "audit event");
    assert!(log.contains("oauth_logout_refused"), "audit event");
    assert!(!log.contains(PASSWORD), "the password reached the log");

    // The registration refuses a post-logout URI with a fragment.
    let bad = server.cli(&[
        "client",
        "update",
        "--client-id",
        "node-app",
        "--post-logout-redirect-uri",
        "https://app.example/bye#x",
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("post_logout_redirect_uris"), "{err}");
}

/// Chromium applies the confirmation page's CSP `form-action` to the 303 that answers the
/// "Sign out" post: the browser itself must reach the post-logout URI.
#[test]
fn chromium_follows_the_post_logout_redirect_and_the_session_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user("omar", &[], PASSWORD);
    let port = free_port().to_string();
    let app = format!("http://127.0.0.1:{port}");
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "browser-app",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        &format!("{app}/callback"),
        "--post-logout-redirect-uri",
        &format!("{app}/bye"),
        "--scope",
        "openid",
        "--public",
        "--first-party",
    ]);
    let v = super::openid_client(
        "chromium_logout.mjs",
        &[&issuer, "browser-app", &port, "omar"],
        PASSWORD,
        || server.log(),
    );
    assert_eq!(v["confirm_status"], 200, "{v}");
    let csp = v["confirm_csp"].as_str().unwrap_or_default();
    assert!(csp.contains(&format!("form-action 'self' {app};")), "{v}");
    assert_eq!(v["landed"], format!("{app}/bye"), "{v}");
    assert_eq!(v["state_ok"], true, "{v}");
    assert_eq!(
        v["listener_saw"],
        serde_json::json!(["/callback", "/bye"]),
        "{v}"
    );
    assert_eq!(v["login_again"], true, "the session is gone: {v}");
    assert_eq!(v["csp_violations"], serde_json::json!([]), "{v}");
    assert!(server.log().contains("browser_signed_out"), "audit event");
}
