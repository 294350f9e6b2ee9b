//! API keys (issue 17) end to end through the real binary, on sled and on PostgreSQL:
//! created with the CLI, exchanged at the token endpoint (RFC 8693) for access tokens
//! whose claims are checked, introspected (RFC 7662), and refused — each refusal by its
//! exact error — when revoked, expired, malformed, used from a foreign network, or when
//! the owner is disabled; scopes above the owner's are refused at creation. The
//! self-service page is driven in headless Chromium (`chromium.rs`).

mod admin;
mod chromium;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_tests::http::post_form;
use tessera_tests::{ServerProcess, TestDatabase};

pub(crate) const API_KEY_TYPE: &str = "urn:tessera:params:oauth:token-type:api-key";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const PASSWORD: &str = "Api-Keys-Passw0rd";

/// A server with `[oauth]`, `[api_keys]` (uses flushed every second) and `datastore` (a
/// `[datastore]` section; empty: sled); returns it and the issuer.
pub(crate) fn server(dir: &std::path::Path, datastore: &str) -> (ServerProcess, String) {
    let port = tessera_tests::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = format!(
        "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\n\
         [api_keys]\nmax_lifetime = \"90d\"\nuser_scopes = [\"openid\", \"profile\", \"email\"]\n\
         last_used_flush_interval = \"1s\"\n{datastore}",
        crate::server::config()
    );
    (ServerProcess::start(dir, &config), issuer)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The ID of user `username` (in `tenant`).
pub(crate) fn user_id(server: &ServerProcess, tenant: &str, username: &str) -> String {
    let shown = server.ok(&[
        "user",
        "show",
        "--username",
        username,
        "--tenant",
        tenant,
        "--output",
        "json",
    ]);
    json_of(&shown)["id"].as_str().unwrap().to_owned()
}

/// A confidential client `id` in `tenant` with `extra` options; its secret.
fn client(server: &ServerProcess, tenant: &str, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "client",
        "create",
        "--tenant",
        tenant,
        "--client-id",
        id,
        "--grant-type",
        "client_credentials",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    json_of(&server.ok(&args))["client_secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `api-key create ARGS --output json`: (id, secret).
fn create_key(server: &ServerProcess, args: &[&str]) -> (String, String) {
    let mut all = vec!["api-key", "create", "--output", "json"];
    all.extend_from_slice(args);
    let created = json_of(&server.ok(&all));
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Exchanges `key` at `issuer`'s token endpoint as `client`, with `extra` parameters.
pub(crate) fn exchange(
    issuer: &str,
    client: (&str, &str),
    key: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut pairs = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", key),
        ("subject_token_type", API_KEY_TYPE),
        ("client_id", client.0),
        ("client_secret", client.1),
    ];
    pairs.extend_from_slice(extra);
    let (path, base) = match issuer.split_once("/t/") {
        Some((base, tenant)) => (format!("/t/{tenant}/oauth2/token"), base.to_owned()),
        None => ("/oauth2/token".to_owned(), issuer.to_owned()),
    };
    post_form(&base, &path, &pairs)
}

fn introspect(issuer: &str, client: (&str, &str), token: &str) -> Value {
    let pairs = [
        ("token", token),
        ("client_id", client.0),
        ("client_secret", client.1),
    ];
    let (status, body) = post_form(issuer, "/oauth2/introspect", &pairs);
    assert_eq!(status, 200, "{body}");
    body
}

/// The claims of a JWS compact token (its signature is the OAuth tests' business).
pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn refused(reply: (u16, Value), error: &str, description: &str) {
    assert_eq!(
        reply,
        (
            400,
            json!({"error": error, "error_description": description})
        )
    );
}

const INVALID_KEY: &str = "the API key is invalid, expired or revoked";

/// The whole life of keys on one server.
fn scenario(datastore: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer) = server(dir.path(), datastore);
    server.create_user("alice", &[], PASSWORD);
    let alice = user_id(&server, "default", "alice");
    let exchanger = client(&server, "default", "exchanger", &["--scope", "read"]);
    let exchanger = ("exchanger", exchanger.as_str());
    let rs = client(&server, "default", "rs", &["--introspect-any"]);
    let rs = ("rs", rs.as_str());

    let (id, key) = create_key(
        &server,
        &[
            "--user",
            &alice,
            "--name",
            "ci",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--audience",
            "https://api.example",
            "--expires-in",
            "30d",
        ],
    );
    assert!(
        id.starts_with("ak_") && key.starts_with("tsk_") && key.len() == 53,
        "{key}"
    );
    assert_eq!(
        tessera_tests::run_cli(&["api-key", "check", &key])
            .status
            .code(),
        Some(0)
    );

    // Exchange: sub = the owner, the key's ID, scope within the key's, the key's audience.
    let (status, body) = exchange(&issuer, exchanger, &key, &[("scope", "email")]);
    assert_eq!(status, 200, "{body}\n{}", server.log());
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["scope"], "email");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], alice.as_str(), "{c}");
    assert_eq!(c["api_key_id"], id.as_str(), "{c}");
    assert_eq!(c["scope"], "email");
    assert_eq!(c["client_id"], "exchanger");
    assert_eq!(c["aud"], "https://api.example");
    assert_eq!(c["iss"], issuer.as_str());
    let (_, all) = exchange(&issuer, exchanger, &key, &[]);
    assert_eq!(all["scope"], "email openid", "{all}");
    refused(
        exchange(&issuer, exchanger, &key, &[("scope", "profile")]),
        "invalid_scope",
        "requested scope is not allowed",
    );
    refused(
        exchange(
            &issuer,
            exchanger,
            &key,
            &[("audience", "https://elsewhere")],
        ),
        "invalid_target",
        "requested resource or audience is not allowed for this API key",
    );

    // Introspection of the key itself: active for a client allowed to introspect.
    let active = introspect(&issuer, rs, &key);
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["token_type"], API_KEY_TYPE);
    assert_eq!(active["sub"], alice.as_str());
    assert_eq!(active["scope"], "email openid");
    assert_eq!(active["api_key_id"], id.as_str());
    assert!(active["exp"].as_i64().unwrap() > active["iat"].as_i64().unwrap());
    assert_eq!(
        introspect(&issuer, exchanger, &key),
        json!({"active": false})
    );

    // Last use is recorded by the periodic flush (an introspection knows no source: the
    // exchange after it is the last use).
    assert_eq!(exchange(&issuer, exchanger, &key, &[]).0, 200);
    std::thread::sleep(Duration::from_millis(2500));
    let shown = json_of(&server.ok(&["api-key", "show", &id, "--output", "json"]));
    assert!(shown["last_used_at"].as_i64().is_some(), "{shown}");
    assert_eq!(shown["last_used_from"], "127.0.0.1");
    let listed = json_of(&server.ok(&["api-key", "list", "--user", &alice, "--output", "json"]));
    assert_eq!(listed["api_keys"].as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains(&key), "never the secret");

    // Scopes above the owner's are refused at creation.
    let above = server.cli(&[
        "api-key",
        "create",
        "--user",
        &alice,
        "--name",
        "x",
        "--scope",
        "orders:write",
    ]);
    assert!(!above.status.success());
    assert_eq!(
        String::from_utf8_lossy(&above.stderr).trim(),
        "error: server refused: scope \"orders:write\" is not one the key's owner may get (InvalidArgument)"
    );
    let too_long = server.cli(&[
        "api-key",
        "create",
        "--user",
        &alice,
        "--name",
        "x",
        "--scope",
        "openid",
        "--expires-in",
        "91d",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&too_long.stderr).trim(),
        "error: server refused: lifetime 91d is not between 1s and the maximum 90d ([api_keys] max_lifetime) (InvalidArgument)"
    );

    // A typo: caught offline by the checksum, and refused at the token endpoint.
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let checked = tessera_tests::run_cli(&["api-key", "check", &typo]);
    assert_eq!(checked.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&checked.stderr).trim(),
        "error: malformed Tessera API key: checksum mismatch"
    );
    refused(
        exchange(&issuer, exchanger, &typo, &[]),
        "invalid_grant",
        "the API key is malformed",
    );

    // Source networks.
    let (_, far) = create_key(
        &server,
        &[
            "--user",
            &alice,
            "--name",
            "far",
            "--scope",
            "openid",
            "--source-cidr",
            "10.0.0.0/8",
        ],
    );
    refused(
        exchange(&issuer, exchanger, &far, &[]),
        "invalid_grant",
        INVALID_KEY,
    );
    let (_, near) = create_key(
        &server,
        &[
            "--user",
            &alice,
            "--name",
            "near",
            "--scope",
            "openid",
            "--source-cidr",
            "127.0.0.0/8",
        ],
    );
    assert_eq!(exchange(&issuer, exchanger, &near, &[]).0, 200);

    // Expiry.
    let (_, brief) = create_key(
        &server,
        &[
            "--user",
            &alice,
            "--name",
            "brief",
            "--scope",
            "openid",
            "--expires-in",
            "2s",
        ],
    );
    assert_eq!(exchange(&issuer, exchanger, &brief, &[]).0, 200);
    std::thread::sleep(Duration::from_millis(2500));
    refused(
        exchange(&issuer, exchanger, &brief, &[]),
        "invalid_grant",
        INVALID_KEY,
    );

    // The owner disabled: refused at once; enabled again: accepted.
    server.ok(&["user", "disable", "--username", "alice"]);
    refused(
        exchange(&issuer, exchanger, &key, &[]),
        "invalid_grant",
        INVALID_KEY,
    );
    assert_eq!(introspect(&issuer, rs, &key), json!({"active": false}));
    server.ok(&["user", "update", "--username", "alice", "--enabled", "true"]);
    assert_eq!(exchange(&issuer, exchanger, &key, &[]).0, 200);

    // A client's key: sub is the client.
    let (_, partner) = create_key(
        &server,
        &[
            "--client",
            "exchanger",
            "--name",
            "partner",
            "--scope",
            "read",
        ],
    );
    let (status, body) = exchange(&issuer, exchanger, &partner, &[]);
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["sub"].as_str(), c["scope"].as_str()),
        (Some("exchanger"), Some("read"))
    );
    assert_eq!(c["aud"], issuer.as_str());

    // Revocation stops the key at once.
    let revoked = json_of(&server.ok(&["api-key", "revoke", &id, "--output", "json"]));
    assert!(revoked["revoked_at"].as_i64().is_some(), "{revoked}");
    refused(
        exchange(&issuer, exchanger, &key, &[]),
        "invalid_grant",
        INVALID_KEY,
    );
    assert_eq!(introspect(&issuer, rs, &key), json!({"active": false}));
    let missing = server.cli(&["api-key", "show", "ak_missing"]);
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim(),
        "error: server refused: no API key ak_missing (NotFound)"
    );

    // Keys are per tenant: one of `acme` works at acme's issuer only.
    server.ok(&["tenant", "create", "--id", "acme", "--name", "Acme"]);
    let acme_user = server.cli_with_stdin(
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--username",
            "bob",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert!(acme_user.status.success());
    let bob = user_id(&server, "acme", "bob");
    let acme_client = client(&server, "acme", "exchanger", &["--scope", "read"]);
    let (_, acme_key) = create_key(
        &server,
        &[
            "--tenant", "acme", "--user", &bob, "--name", "acme", "--scope", "openid",
        ],
    );
    let acme_issuer = format!("{issuer}/t/acme");
    let (status, body) = exchange(&acme_issuer, ("exchanger", &acme_client), &acme_key, &[]);
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["iss"].as_str(), c["sub"].as_str()),
        (Some(acme_issuer.as_str()), Some(bob.as_str()))
    );
    refused(
        exchange(&issuer, exchanger, &acme_key, &[]),
        "invalid_grant",
        INVALID_KEY,
    );

    // Deleting the owner deletes its keys (they already failed at use).
    server.ok(&["user", "delete", "--username", "alice"]);
    refused(
        exchange(&issuer, exchanger, &near, &[]),
        "invalid_grant",
        INVALID_KEY,
    );
    let left = json_of(&server.ok(&["api-key", "list", "--user", &alice, "--output", "json"]));
    assert_eq!(left, json!({"api_keys": []}));

    let log = server.log();
    for event in [
        "api_keys_deleted",
        "api_key_created",
        "api_key_used",
        "api_key_refused",
        "api_key_revoked",
    ] {
        assert!(log.contains(event), "audit event {event}");
    }
    for reason in [
        "source_not_allowed",
        "expired",
        "owner_disabled",
        "revoked",
        "checksum",
    ] {
        assert!(log.contains(reason), "refusal reason {reason}");
    }
    assert!(!log.contains(&key), "the secret is never logged");
}

#[test]
fn api_keys_work_end_to_end_on_sled() {
    scenario("");
}

#[test]
fn api_keys_work_end_to_end_on_postgres() {
    let db = TestDatabase::create();
    scenario(&db.server_config());
}

#[test]
fn api_key_check_needs_no_server() {
    let out = tessera_tests::run_cli(&["api-key", "check", "ghp_notours"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: not a Tessera API key: it does not start with tsk_"
    );
    let short = tessera_tests::run_cli(&["api-key", "check", "tsk_abc"]);
    assert_eq!(
        String::from_utf8_lossy(&short.stderr).trim(),
        "error: malformed Tessera API key: 7 characters, expected 53"
    );
}
