//! The OAuth 2.0 authorization server for machines, driven by clients nobody here wrote
//! (python `authlib` + PyJWT's `PyJWKClient`).

mod auth_code;
mod browser;
pub(crate) mod chromium;
mod client_auth;
mod consent;
mod device;
mod exchange;
mod logout;
mod node;
mod tls;

use std::path::PathBuf;
use std::process::Command;

use tessera_tests::{ServerProcess, free_port};

/// A server with `[oauth]` on a loopback port; returns it and the issuer URL.
fn server(dir: &std::path::Path) -> (ServerProcess, String) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = format!(
        "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\naccess_token_ttl = \"5m\"\n",
        crate::server::config()
    );
    (ServerProcess::start(dir, &config), issuer)
}

/// Runs `node tests/interop/node/<script> ARGS` with `stdin` (a password: never an argument)
/// and returns its one-line JSON report; a failure shows the report, stderr and `log()`.
pub(crate) fn openid_client(
    script: &str,
    args: &[&str],
    stdin: &str,
    log: impl Fn() -> String,
) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/node");
    assert!(
        dir.join("node_modules/openid-client").exists(),
        "{}/node_modules is missing: run tests/run, which runs `npm ci` there",
        dir.display()
    );
    let node = std::env::var("TESSERA_NODE").unwrap_or_else(|_| "node".into());
    let out = tessera_tests::run_with_stdin(
        Command::new(node)
            .arg(dir.join(script))
            .args(args)
            .current_dir(&dir),
        stdin,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    serde_json::from_str(&stdout).unwrap()
}

/// Registers a public single-page app `client_id` for the code flow with refresh tokens and
/// `openid profile email`, redirecting to `redirect`.
pub(crate) fn create_spa_client(server: &ServerProcess, client_id: &str, redirect: &str) {
    server.ok(&[
        "client",
        "create",
        "--client-id",
        client_id,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--redirect-uri",
        redirect,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
        "--public",
    ]);
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run tests/run, which creates the venv",
        venv.display()
    );
    venv
}

#[test]
fn authlib_gets_client_credentials_tokens_that_pyjwt_verifies_against_the_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = server(dir.path());
    let created: serde_json::Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "partner",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--scope",
        "write",
        "--audience",
        "https://api.example.org",
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_string();

    let out = tessera_tests::guard::output(
        Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/python/oauth_client.py"))
            .args([&issuer, "partner", &secret, "https://api.example.org"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["issuer"], issuer.as_str());
    for method in ["client_secret_basic", "client_secret_post"] {
        let t = &v[method];
        assert_eq!(t["typ"], "at+jwt", "{v}");
        assert_eq!(t["token_type"], "Bearer");
        let claims = t["claims"].as_object().unwrap();
        let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "aud",
                "client_id",
                "exp",
                "iat",
                "iss",
                "jti",
                "scope",
                "sub"
            ],
            "{v}"
        );
        assert_eq!(claims["sub"], "partner");
        assert_eq!(claims["scope"], "read");
    }
    assert_eq!(v["wrong_secret"], "invalid_client", "{v}");
    let log = server.log();
    assert!(
        !log.contains(&secret),
        "the client secret reached the server log"
    );
    assert!(log.contains("oauth_token_issued"), "audit events");
}
