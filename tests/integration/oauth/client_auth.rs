//! Client authentication without secrets, end to end through the real binaries:
//! `private_key_jwt` driven by python `authlib` (with a replay of its assertion), and
//! `spiffe_jwt` with a JWT-SVID a real agent issued to this test's uid.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_tests::free_port;
use tessera_tests::http::post_form;

use crate::workload::{Node, my_uid};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("interop/python")
        .join(name)
}

fn run_python(args: &[&str]) -> Vec<u8> {
    let out = tessera_tests::guard::output(Command::new(super::python()).args(args));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn authlib_private_key_jwt_gets_a_token_and_its_assertion_cannot_be_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    let private = dir.path().join("client.jwk");
    let public = dir.path().join("client.jwks");
    let keygen = script("private_key_jwt.py");
    run_python(&[
        keygen.to_str().unwrap(),
        "keygen",
        private.to_str().unwrap(),
        public.to_str().unwrap(),
    ]);
    let created: Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "partner-jwt",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--audience",
        "https://api.example.org",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        public.to_str().unwrap(),
        "--output",
        "json",
    ]))
    .unwrap();
    assert!(
        created["client_secret"].is_null(),
        "no secret for a private_key_jwt client: {created}"
    );

    let out = run_python(&[
        keygen.to_str().unwrap(),
        "fetch",
        &issuer,
        "partner-jwt",
        private.to_str().unwrap(),
        "https://api.example.org",
    ]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["typ"], "at+jwt", "{v}");
    assert_eq!(v["claims"]["sub"], "partner-jwt", "{v}");
    assert_eq!(v["claims"]["client_id"], "partner-jwt", "{v}");
    assert_eq!(v["claims"]["scope"], "read", "{v}");
    assert_eq!(v["assertion_header"]["alg"], "ES256", "{v}");
    assert!(v["assertion_header"]["kid"].is_string(), "{v}");
    assert_eq!(
        v["assertion_lifetime"], 3600,
        "authlib's default one-hour assertion is accepted: {v}"
    );
    assert!(
        v["methods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "private_key_jwt"),
        "{v}"
    );
    assert_eq!(
        v["replay_status"], 401,
        "a replayed assertion is refused: {v}"
    );
    assert_eq!(v["replay_error"], "invalid_client", "{v}");
    // authlib's per-endpoint assertions (aud = the introspection / revocation URL).
    assert_eq!(v["introspect_status"], 200, "{v}");
    assert_eq!(v["introspect_active"], true, "{v}");
    assert_eq!(v["revoke_status"], 200, "{v}");
    assert_eq!(v["active_after_revoke"], false, "{v}");
    let log = server.log();
    assert!(log.contains("assertion jti was already used"), "{log}");
}

/// A node (server with `[oauth]` + attested agent) and the OAuth issuer URL.
fn oauth_node(dir: &std::path::Path) -> (Node, String) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let extra = format!("[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\n");
    (Node::start_with(dir, &extra), issuer)
}

fn fetch_jwt_svid(node: &Node, audience: &str) -> String {
    let out = node.agent_cli(my_uid(), &["api", "fetch", "jwt", "--audience", audience]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().nth(1).unwrap().trim().to_owned()
}

#[test]
fn a_workload_authenticates_with_its_jwt_svid_and_other_audiences_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut node, issuer) = oauth_node(dir.path());
    let spiffe_id = "spiffe://example.org/billing";
    node.register(spiffe_id, my_uid(), &[]);
    node.server.ok(&[
        "client",
        "create",
        "--client-id",
        "billing",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--auth-method",
        "spiffe_jwt",
        "--spiffe-id",
        spiffe_id,
    ]);

    // Client assertions are minted for the token endpoint (the issuer audience is the
    // token-exchange subject's, issue 11 §4).
    let svid = fetch_jwt_svid(&node, &format!("{issuer}/oauth2/token"));
    let request = |client_id: Option<&str>, assertion: &str| {
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ];
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        post_form(&issuer, "/oauth2/token", &pairs)
    };
    let (status, body) = request(Some("billing"), &svid);
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "billing");
    assert_eq!(claims["client_id"], "billing");
    assert_eq!(claims["scope"], "read");

    // Tessera's JWT-SVIDs carry no jti: the workload may reuse its cached SVID until expiry.
    assert_eq!(request(Some("billing"), &svid).0, 200);
    // The client_id parameter is required for spiffe_jwt.
    let (status, body) = request(None, &svid);
    assert_eq!(
        (status, &body["error"]),
        (401, &Value::from("invalid_client"))
    );
    // A JWT-SVID minted for another audience is refused.
    let elsewhere = fetch_jwt_svid(&node, "https://api.example.org");
    let (status, body) = request(Some("billing"), &elsewhere);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // A JWT-SVID for the issuer (what a workload hands a service for token exchange) is
    // not the workload's client credential.
    let for_exchange = fetch_jwt_svid(&node, &issuer);
    let (status, body) = request(Some("billing"), &for_exchange);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");

    let log = node.server.log();
    let signature = svid.rsplit('.').next().unwrap();
    assert!(
        !log.contains(signature),
        "the JWT-SVID reached the server log"
    );
    assert!(log.contains("oauth_client_auth_failed"), "{log}");
}

/// Issue 11 §8 through the real binary: a client introspects only its own tokens unless
/// registered with `--introspect-any`; a public client cannot hold that permission.
#[test]
fn only_an_introspect_any_client_introspects_other_clients_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    let create = |id: &str, extra: &[&str]| -> String {
        let mut args = vec![
            "client",
            "create",
            "--client-id",
            id,
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        let created: Value = serde_json::from_str(&server.ok(&args)).unwrap();
        created["client_secret"].as_str().unwrap().to_owned()
    };
    let app = create("app", &[]);
    let peer = create("peer", &[]);
    let rs = create("resource-server", &["--introspect-any"]);
    let shown: Value = serde_json::from_str(&server.ok(&[
        "client",
        "show",
        "--client-id",
        "resource-server",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(shown["introspect_any"], true, "{shown}");

    let (status, body) = post_form(
        &issuer,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", &app),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let introspect = |id: &str, secret: &str| {
        let pairs = [
            ("token", token.as_str()),
            ("client_id", id),
            ("client_secret", secret),
        ];
        let (status, body) = post_form(&issuer, "/oauth2/introspect", &pairs);
        assert_eq!(status, 200, "{body}");
        body
    };
    assert_eq!(
        introspect("peer", &peer),
        serde_json::json!({"active": false})
    );
    assert_eq!(introspect("app", &app)["active"], true);
    assert_eq!(introspect("resource-server", &rs)["active"], true);

    let refused = server.cli(&[
        "client",
        "create",
        "--client-id",
        "spa",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        "http://127.0.0.1:8080/cb",
        "--public",
        "--introspect-any",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("introspect_any"), "{stderr}");
}
