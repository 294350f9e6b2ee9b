//! The OAuth server driven by the unmodified npm `openid-client` v6
//! (`tests/interop/node/oauth_client.mjs`): discovery, client_credentials with
//! ClientSecretBasic, ClientSecretPost and PrivateKeyJwt, introspection and revocation.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use tessera_tests::ServerProcess;

const RESOURCE: &str = "https://api.example.org";

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/node")
}

/// Runs `node oauth_client.mjs ARGS` and returns its JSON output (which must say success).
fn openid_client(args: &[&str]) -> Value {
    let dir = node_dir();
    assert!(
        dir.join("node_modules/openid-client").exists(),
        "{}/node_modules is missing: run tests/run, which runs `npm ci` there",
        dir.display()
    );
    let node = std::env::var("TESSERA_NODE").unwrap_or_else(|_| "node".into());
    let out = tessera_tests::guard::output(
        Command::new(node)
            .arg(dir.join("oauth_client.mjs"))
            .args(args)
            .current_dir(&dir),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openid-client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

/// Creates a client_credentials client allowed `read` and `write` for [`RESOURCE`];
/// returns the CLI's JSON answer.
fn create_client(server: &ServerProcess, id: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "client",
        "create",
        "--client-id",
        id,
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--scope",
        "write",
        "--audience",
        RESOURCE,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&server.ok(&args)).unwrap()
}

/// One method's round: token, introspection (active), revocation, introspection (inactive).
fn assert_round(v: &Value, method: &str, client_id: &str, issuer: &str) {
    let r = &v[method];
    assert_eq!(r["issuer"], issuer, "{v}");
    assert_eq!(
        r["token_type"], "bearer",
        "openid-client lowercases it: {v}"
    );
    assert_eq!(r["typ"], "at+jwt", "{v}");
    assert_eq!(r["alg"], "ES256", "{v}");
    assert_eq!(r["scope"], "read", "{v}");
    assert!(r["expires_in"].as_u64().is_some_and(|s| s > 0), "{v}");
    let i = &r["introspection"];
    assert_eq!(i["active"], true, "{v}");
    assert_eq!(i["scope"], "read", "{v}");
    assert_eq!(i["client_id"], client_id, "{v}");
    assert_eq!(i["sub"], client_id, "{v}");
    let aud = &i["aud"];
    assert!(
        aud == RESOURCE || aud.as_array().is_some_and(|a| a.contains(&json!(RESOURCE))),
        "{v}"
    );
    assert_eq!(
        r["after_revocation"]["active"], false,
        "revoked token still active: {v}"
    );
}

#[test]
fn openid_client_gets_introspects_and_revokes_tokens_with_client_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    let created = create_client(&server, "node-partner", &[]);
    let secret = created["client_secret"].as_str().unwrap().to_string();

    let v = openid_client(&[&issuer, "secret", "node-partner", &secret, RESOURCE]);
    for method in ["client_secret_basic", "client_secret_post"] {
        assert_round(&v, method, "node-partner", &issuer);
    }
    assert_eq!(v["wrong_secret"], "invalid_client", "{v}");

    let log = server.log();
    assert!(!log.contains(&secret), "the client secret reached the log");
    for event in ["oauth_token_issued", "oauth_introspect", "oauth_revoke"] {
        assert!(log.contains(event), "audit event {event} missing");
    }
}

/// A fresh P-256 key: writes its PKCS#8 PEM to `dir/client-key.pem` and its public JWK set
/// (with `kid`) to `dir/client-jwks.json`; returns both paths.
fn client_key(dir: &Path, kid: &str) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    // Uncompressed SEC1 point: 0x04 || x || y.
    let point = key.public_key_raw();
    assert_eq!(point.len(), 65);
    let jwks = json!({"keys": [{
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
    }]});
    let pem_path = dir.join("client-key.pem");
    let jwks_path = dir.join("client-jwks.json");
    std::fs::write(&pem_path, key.serialize_pem()).unwrap();
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();
    (pem_path, jwks_path)
}

#[test]
fn openid_client_gets_introspects_and_revokes_tokens_with_private_key_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = super::server(dir.path());
    let (pem, jwks) = client_key(dir.path(), "node-key-1");
    create_client(
        &server,
        "node-signer",
        &[
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            jwks.to_str().unwrap(),
        ],
    );

    let v = openid_client(&[
        &issuer,
        "private_key_jwt",
        "node-signer",
        pem.to_str().unwrap(),
        "node-key-1",
        RESOURCE,
    ]);
    assert_round(&v, "private_key_jwt", "node-signer", &issuer);
}
