//! A real browser through the real login pages: Debian's headless Chromium, driven by
//! playwright-core (`tests/interop/node/chromium_login.mjs`), opens an authorization URL
//! built here (PKCE S256, state, nonce), signs in, approves consent and follows the 303 to
//! the client's loopback redirect URI, where a listener run by this test records the query.
//! The code is then redeemed at the token endpoint with the PKCE verifier.
//!
//! The browser performs the final navigation itself, so a CSP `form-action` that left out
//! the redirect URI's origin would stop the flow here (the python/openid-client flows do
//! not enforce CSP). Chromium missing is a failure, not a skip: `.ci/run` installs it.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_tests::http::{encode, post_form};
use tessera_tests::run_with_stdin;

const PASSWORD: &str = "Chromium-Login-Passw0rd";

fn chromium() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("TESSERA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.exists(),
        "{} is missing: install Debian's `chromium` (.ci/run does), or set TESSERA_CHROMIUM",
        path.display()
    );
    path
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).unwrap();
    URL_SAFE_NO_PAD.encode(buf)
}

/// The client's redirect URI: answers every request with a small page and sends the raw
/// query of each `/callback` request to the returned channel.
fn callback_listener() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/callback", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let target = line.split_whitespace().nth(1).unwrap_or_default();
            if let Some(query) = target.strip_prefix("/callback?") {
                let _ = tx.send(query.to_owned());
            }
            let body = "signed in";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (uri, rx)
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Runs `node chromium_login.mjs AUTHORIZE_URL REDIRECT_URI USERNAME` with the password on
/// stdin; returns its JSON report (which must say success).
fn drive_chromium(args: &[&str], log: impl Fn() -> String) -> Value {
    drive_script("chromium_login.mjs", args, PASSWORD, log)
}

/// Runs the playwright script `tests/interop/node/<script> ARGS` against Chromium with
/// `stdin` (passwords and secrets: never arguments); returns its JSON report, which must
/// say success (a failure shows the report, stderr and `log()`).
pub(crate) fn drive_script(
    script: &str,
    args: &[&str],
    stdin: &str,
    log: impl Fn() -> String,
) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/node");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "{}/node_modules is missing: run tests/run, which runs `npm ci` there",
        dir.display()
    );
    let node = std::env::var("TESSERA_NODE").unwrap_or_else(|_| "node".into());
    let out = run_with_stdin(
        Command::new(node)
            .arg(dir.join(script))
            .args(args)
            .env("TESSERA_CHROMIUM", chromium())
            .current_dir(&dir),
        stdin,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium flow failed: {stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn chromium_signs_in_approves_consent_and_lands_on_the_redirect_uri_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    server.create_user("erin", &[], PASSWORD);
    let (redirect_uri, callbacks) = callback_listener();
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "browser-app",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        &redirect_uri,
        "--scope",
        "openid",
        "--public",
    ]);

    let verifier = random_token(32);
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    let state = random_token(16);
    let nonce = random_token(16);
    let authorize = format!(
        "{issuer}/oauth2/authorize?response_type=code&client_id=browser-app&redirect_uri={}&scope=openid&state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        encode(&redirect_uri)
    );

    let v = drive_chromium(&[&authorize, &redirect_uri, "erin"], || server.log());
    assert_eq!(v["login_status"], 200, "{v}");
    assert_eq!(v["consent_status"], 200, "{v}");
    let origin = redirect_uri.trim_end_matches("/callback");
    for page in ["login_headers", "consent_headers"] {
        let csp = v[page]["content-security-policy"]
            .as_str()
            .unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {v}");
        assert!(csp.contains("default-src 'none'"), "{page}: {v}");
        assert!(
            csp.contains(&format!("form-action 'self' {origin}")),
            "{page}: {v}"
        );
        assert_eq!(v[page]["x-frame-options"], "DENY", "{page}: {v}");
    }
    assert_eq!(v["csp_violations"], serde_json::json!([]), "{v}");

    // The browser itself reached the client's listener.
    assert_eq!(v["landed"], redirect_uri.as_str(), "{v}");
    assert_eq!(v["callback_body"], "signed in", "{v}");
    let seen = callbacks.try_recv().expect("the listener saw the callback");
    let seen = query_pairs(&seen);
    let param = |name: &str| {
        seen.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(param("state"), state, "{seen:?}");
    assert_eq!(param("iss"), issuer, "{seen:?}");
    let code = param("code");
    assert!(!code.is_empty(), "{seen:?}");
    assert_eq!(v["query"]["code"], code.as_str(), "{v}");
    assert_eq!(v["query"]["state"], state.as_str(), "{v}");
    assert_eq!(v["query"]["iss"], issuer.as_str(), "{v}");

    // The code is real: the PKCE verifier redeems it.
    let (status, tokens) = post_form(
        &issuer,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("client_id", "browser-app"),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(status, 200, "{tokens}\n{}", server.log());
    assert!(tokens["access_token"].as_str().is_some(), "{tokens}");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");

    let log = server.log();
    assert!(
        !log.contains(PASSWORD),
        "the password reached the server log"
    );
    assert!(log.contains("browser_signed_in"), "audit events");
    assert!(log.contains("oauth_consent_approved"), "audit events");
}
