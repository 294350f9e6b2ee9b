//! The browser sign-in through the real binary: a user and a public client made with the
//! CLI, then python `requests` (a cookie jar, no JavaScript) drives authorize → login →
//! consent → the redirect back with `code`, `state` and `iss`.

use std::path::PathBuf;
use std::process::Command;

use tessera_tests::free_port;

const PASSWORD: &str = "Browser-Flow-Passw0rd";

#[test]
fn a_user_signs_in_through_the_pages_and_the_client_gets_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user("carol", &[], PASSWORD);
    let registered = format!("http://127.0.0.1:{}/cb", free_port());
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "spa",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        &registered,
        "--scope",
        "openid",
        "--public",
    ]);
    // RFC 8252: the app listens on whatever loopback port it got.
    let used = format!("http://127.0.0.1:{}/cb", free_port());

    let out = tessera_tests::run_with_stdin(
        Command::new(super::python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/python/browser_flow.py"))
            .args([&issuer, "spa", &used, "carol"]),
        PASSWORD,
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["prompt_none"][0], 303, "{v}");
    assert_eq!(v["prompt_none"][1]["error"], "login_required", "{v}");
    assert_eq!(v["prompt_none"][1]["iss"], issuer.as_str(), "{v}");
    assert_eq!(v["login_status"], 200, "{v}");
    let cookie = v["login_headers"]["Set-Cookie"].as_str().unwrap();
    assert!(
        cookie.starts_with("tessera-session="),
        "loopback http: {cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert_eq!(v["login_headers"]["X-Frame-Options"], "DENY");
    assert_eq!(v["forged_status"], 403, "{v}");
    assert_eq!(v["consent_status"], 200, "{v}");
    assert_eq!(v["session_changed"], true, "{v}");
    assert_eq!(v["final_status"], 303, "{v}");
    assert_eq!(v["redirect_base"], used.as_str(), "{v}");
    assert_eq!(v["state_ok"], true, "{v}");
    assert_eq!(v["iss"], issuer.as_str(), "{v}");
    assert_eq!(v["has_code"], true, "{v}");
    assert_eq!(v["again"][0], 303, "{v}");
    assert_eq!(
        v["again"][1],
        serde_json::json!(["code", "iss", "state"]),
        "{v}"
    );
    let log = server.log();
    assert!(
        !log.contains(PASSWORD),
        "the password reached the server log"
    );
    assert!(log.contains("browser_signed_in"), "audit events");
    assert!(log.contains("oauth_consent_approved"), "audit events");
}
