//! OAuth signing keys across two real replicas on one PostgreSQL database: a token issued by
//! either verifies against the other's `/.well-known/jwks.json` and introspects there.

use std::path::Path;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use tessera_tests::http::{get_json, post_form};
use tessera_tests::{ServerProcess, TestDatabase, free_port};

pub(super) const ISSUER: &str = "https://as.example.org";
const AUDIENCE: &str = "https://api.example.org";

/// A replica `server_id` with `[oauth]` on its own port, all replicas sharing one issuer
/// (as behind a load balancer); returns it and its base URL.
pub(super) fn replica(dir: &Path, server_id: &str, db: &TestDatabase) -> (ServerProcess, String) {
    let port = free_port();
    let config = format!(
        "{}server_id = \"{server_id}\"\n{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{ISSUER}\"\naccess_token_ttl = \"5m\"\n",
        crate::server::config_at(free_port()),
        db.server_config()
    );
    (
        ServerProcess::start(dir, &config),
        format!("http://127.0.0.1:{port}"),
    )
}

fn token(base: &str, secret: &str) -> String {
    let (status, body) = post_form(
        base,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "partner"),
            ("client_secret", secret),
            ("audience", AUDIENCE),
        ],
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The `kid`s of `base`'s JWKS.
fn kids(base: &str) -> Vec<String> {
    let (status, jwks) = get_json(base, "/.well-known/jwks.json");
    assert_eq!(status, 200, "{jwks}");
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (failing after `bound`) until `base`'s JWKS lists `kid`.
fn await_kid(base: &str, kid: &str, bound: Duration) {
    let deadline = Instant::now() + bound;
    loop {
        let listed = kids(base);
        if listed.iter().any(|k| k == kid) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} did not publish {kid} within {bound:?}: {listed:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Checks `token`'s signature, `iss`, `aud` and `exp` with `jsonwebtoken` against `base`'s
/// JWKS only.
fn verify_with_jwks_of(base: &str, token: &str) -> Value {
    let (_, jwks) = get_json(base, "/.well-known/jwks.json");
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("the token's kid is in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    decode::<Value>(token, &key, &validation).unwrap().claims
}

fn introspect(base: &str, secret: &str, token: &str) -> Value {
    let (status, body) = post_form(
        base,
        "/oauth2/introspect",
        &[
            ("client_id", "partner"),
            ("client_secret", secret),
            ("token", token),
        ],
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

struct Pair {
    _db: TestDatabase,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    a: (ServerProcess, String),
    b: (ServerProcess, String),
    secret: String,
}

/// Replica A starts first, then B; a `client_credentials` client created through A.
fn pair() -> Pair {
    let db = TestDatabase::create();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(dirs.0.path(), "ra", &db);
    let b = replica(dirs.1.path(), "rb", &db);
    let created: Value = serde_json::from_str(&a.0.ok(&[
        "client",
        "create",
        "--client-id",
        "partner",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--audience",
        AUDIENCE,
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    Pair {
        _db: db,
        _dirs: dirs,
        a,
        b,
        secret,
    }
}

#[test]
fn a_token_from_one_replica_verifies_and_introspects_on_the_other() {
    let p = pair();
    let (a, b) = (&p.a.1, &p.b.1);

    // A's key was in the database before A signed with it, and B started after A: B's JWKS
    // lists it from its first answer.
    let from_a = token(a, &p.secret);
    assert!(kids(b).contains(&kid_of(&from_a)), "{:?}", kids(b));
    let claims = verify_with_jwks_of(b, &from_a);
    assert_eq!(claims["client_id"], "partner");
    let seen = introspect(b, &p.secret, &from_a);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["jti"], claims["jti"], "{seen}");

    // B published its key after A started: A picks it up at its next CA round (the
    // rotator's 10 s check; 20 s allows for a slow machine).
    let from_b = token(b, &p.secret);
    await_kid(a, &kid_of(&from_b), Duration::from_secs(20));
    verify_with_jwks_of(a, &from_b);
    let seen = introspect(a, &p.secret, &from_b);
    assert_eq!(seen["active"], true, "{seen}");
    // Both replicas serve the same union.
    let (mut ka, mut kb) = (kids(a), kids(b));
    ka.sort();
    kb.sort();
    assert_eq!(ka, kb);
    assert_eq!(ka.len(), 2, "{ka:?}");
}

/// The revoked-`jti` denylist is in the datastore: B sees A's revocation at once.
#[test]
fn a_token_revoked_on_one_replica_is_inactive_on_the_other() {
    let p = pair();
    let (a, b) = (&p.a.1, &p.b.1);
    let from_a = token(a, &p.secret);
    assert_eq!(introspect(b, &p.secret, &from_a)["active"], true);
    let (status, body) = post_form(
        a,
        "/oauth2/revoke",
        &[
            ("client_id", "partner"),
            ("client_secret", &p.secret),
            ("token", &from_a),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(introspect(a, &p.secret, &from_a)["active"], false);
    let on_b = introspect(b, &p.secret, &from_a);
    assert_eq!(
        on_b["active"], false,
        "revoked on A, still active on B: {on_b}"
    );
}
