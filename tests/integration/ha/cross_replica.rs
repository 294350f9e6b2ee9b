//! No sticky sessions: a browser sign-in started on one replica continues on the other, the
//! code it yields redeems on either (once), and the browser session survives the replica
//! that created it being killed. Raw HTTP with a hand-held cookie jar, so each step can be
//! sent to the replica the test chooses.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::{Arc, Barrier};

use serde_json::Value;
use tessera_tests::http::{Reply, encode, form, post_form, request};
use tessera_tests::{ServerProcess, TestDatabase};

use super::oauth_keys::{ISSUER, replica};

const PASSWORD: &str = "Cross-Replica-Passw0rd";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "cross-replica-verifier-0123456789-abcdefghijklmnop";

/// The value of the hidden field `name` of a page.
fn field(page: &Reply, name: &str) -> String {
    page.form_field(name)
        .unwrap_or_else(|| panic!("no {name} in {}", page.body))
}

/// The session cookie (`name=value`) a reply sets.
fn cookie(reply: &Reply) -> String {
    reply
        .session_cookie()
        .unwrap_or_else(|| panic!("no session cookie: {reply:?}"))
}

fn post(base: &str, path: &str, cookie: &str, pairs: &[(&str, &str)]) -> Reply {
    request(base, "POST", path, &[("Cookie", cookie)], &form(pairs))
}

/// The `code` of a redirect to the client.
fn code_of(reply: &Reply) -> String {
    let location = reply.header("location").unwrap_or_default();
    assert!(location.starts_with(REDIRECT), "{reply:?}");
    assert!(location.contains("state=s1"), "{location}");
    reply
        .code()
        .unwrap_or_else(|| panic!("no code in {location}"))
}

fn redeem(base: &str, code: &str) -> (u16, Value) {
    post_form(
        base,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// Two replicas on one database, a user and a public code-flow client.
struct Replicas {
    db: TestDatabase,
    dirs: (tempfile::TempDir, tempfile::TempDir),
    a: (ServerProcess, String),
    b: (ServerProcess, String),
}

fn replicas() -> Replicas {
    let db = TestDatabase::create();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(dirs.0.path(), "ra", &db);
    let b = replica(dirs.1.path(), "rb", &db);
    a.0.create_user("pia", &[], PASSWORD);
    crate::oauth::create_spa_client(&a.0, "spa", REDIRECT);
    Replicas { db, dirs, a, b }
}

/// `GET /oauth2/authorize` (PKCE) on `base`: the login page.
fn login_page(base: &str) -> Reply {
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()).as_ref(),
    );
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid%20profile&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        encode(REDIRECT)
    );
    let login = request(base, "GET", &authorize, &[], "");
    assert_eq!(login.status, 200, "{login:?}");
    login
}

/// Posts the password for `login` (a page from any replica) to `base`: the consent page.
fn sign_in(base: &str, login: &Reply) -> Reply {
    let consent = post(
        base,
        "/oauth2/login",
        &cookie(login),
        &[
            ("csrf_token", &field(login, "csrf_token")),
            ("request_id", &field(login, "request_id")),
            ("username", "pia"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(consent.status, 200, "{consent:?}");
    assert!(
        consent.body.contains("value=\"approve\""),
        "{}",
        consent.body
    );
    consent
}

/// Approves `consent` (a page from any replica) at `base`: the authorization code.
fn approve(base: &str, consent: &Reply, cookie: &str) -> String {
    let approved = post(
        base,
        "/oauth2/consent",
        cookie,
        &[
            ("csrf_token", &field(consent, "csrf_token")),
            ("request_id", &field(consent, "request_id")),
            ("decision", "approve"),
        ],
    );
    code_of(&approved)
}

#[test]
fn a_sign_in_moves_between_replicas_and_its_code_redeems_on_either_once() {
    let Replicas { db, dirs, a, b } = replicas();
    let ((mut a, base_a), (_b, base_b)) = (a, b);

    // The login page from A; the password posted to B.
    let login = login_page(&base_a);
    let anonymous = cookie(&login);
    let consent = sign_in(&base_b, &login);
    let signed_in = cookie(&consent);
    assert_ne!(
        signed_in, anonymous,
        "a sign-in moves the session to a new id"
    );

    // A, which created the session, is killed and restarted; nothing of the session was
    // in its memory.
    a.kill();
    let (_a2, base_a2) = replica(dirs.0.path(), "ra", &db);
    let code = approve(&base_a2, &consent, &signed_in);

    // The code issued by the restarted A redeems on B, once; its replay on A is refused.
    let (status, tokens) = redeem(&base_b, &code);
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let (status, replay) = redeem(&base_a2, &code);
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant")),
        "{replay}"
    );

    // The old anonymous session id is gone on every replica: it cannot be replayed.
    let stale = post(
        &base_b,
        "/oauth2/consent",
        &anonymous,
        &[
            ("csrf_token", &field(&consent, "csrf_token")),
            ("request_id", &field(&consent, "request_id")),
            ("decision", "approve"),
        ],
    );
    assert_eq!(stale.status, 403, "{stale:?}");
}

fn refresh(base: &str, token: &str) -> (u16, Value) {
    post_form(
        base,
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", token),
        ],
    )
}

/// A fresh refresh-token family: sign-in, consent and code on `base`.
fn family(base: &str) -> String {
    let login = login_page(base);
    let signed_in = post(
        base,
        "/oauth2/login",
        &cookie(&login),
        &[
            ("csrf_token", &field(&login, "csrf_token")),
            ("request_id", &field(&login, "request_id")),
            ("username", "pia"),
            ("password", PASSWORD),
        ],
    );
    // The consent page the first time; the code at once once consent is remembered.
    let code = if signed_in.status == 200 {
        approve(base, &signed_in, &cookie(&signed_in))
    } else {
        code_of(&signed_in)
    };
    let (status, tokens) = redeem(base, &code);
    assert_eq!(status, 200, "{tokens}");
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// One refresh token sent to both replicas at the same instant: exactly one wins (the other
/// gets `invalid_grant`); a reuse of the rotated token on either replica then revokes the
/// family, the winner's new token included.
#[test]
fn concurrent_refreshes_on_two_replicas_have_one_winner_and_reuse_revokes_the_family() {
    let r = replicas();
    let bases = [r.a.1.clone(), r.b.1.clone()];
    for round in 0..3 {
        let token = family(&bases[round % 2]);
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = bases
            .iter()
            .map(|base| {
                let (barrier, base, token) = (barrier.clone(), base.clone(), token.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    refresh(&base, &token)
                })
            })
            .collect();
        let answers: Vec<(u16, Value)> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winner: Vec<usize> = (0..2).filter(|i| answers[*i].0 == 200).collect();
        assert_eq!(winner.len(), 1, "round {round}: {answers:?}");
        let (winner, loser) = (winner[0], 1 - winner[0]);
        assert_eq!(
            (answers[loser].0, answers[loser].1["error"].as_str()),
            (400, Some("invalid_grant")),
            "round {round}: {answers:?}"
        );
        let newest = answers[winner].1["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // Reuse of the rotated token, on the replica that lost the race.
        let (status, body) = refresh(&bases[loser], &token);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, body) = refresh(&bases[winner], &newest);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "round {round}: reuse revoked the family on every replica: {body}"
        );
    }
    assert!(
        r.db.query_texts("SELECT grant_id FROM grants").is_empty(),
        "every family is revoked"
    );
}

/// A `private_key_jwt` assertion accepted by one replica is refused by the other: the
/// `jti` is a datastore row.
#[test]
fn an_assertion_used_at_one_replica_is_refused_at_the_other() {
    let r = replicas();
    let key = rcgen::KeyPair::generate().unwrap();
    let point = key.public_key_raw();
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let jwks_file = r.dirs.0.path().join("client.jwks");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    r.a.0.ok(&[
        "client",
        "create",
        "--client-id",
        "jwt-partner",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--audience",
        "https://api.example.org",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        jwks_file.to_str().unwrap(),
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "jwt-partner", "sub": "jwt-partner",
        "aud": format!("{ISSUER}/oauth2/token"),
        "iat": now, "exp": now + 60, "jti": "cross-replica-jti-1",
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let signing = jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
    let assertion = jsonwebtoken::encode(&header, &claims, &signing).unwrap();
    let use_at = |base: &str| {
        post_form(
            base,
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("audience", "https://api.example.org"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        )
    };
    let (status, body) = use_at(&r.a.1);
    assert_eq!(status, 200, "{body}");
    let (status, body) = use_at(&r.b.1);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}
