//! No sticky sessions: a browser sign-in started on one replica continues on the other, the
//! code it yields redeems on either (once), and the browser session survives the replica
//! that created it being killed. Raw HTTP with a hand-held cookie jar, so each step can be
//! sent to the replica the test chooses.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_tests::TestDatabase;
use tessera_tests::http::{Reply, encode, form, post_form, request};

use super::oauth_keys::replica;

const PASSWORD: &str = "Cross-Replica-Passw0rd";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "cross-replica-verifier-0123456789-abcdefghijklmnop";

/// The value of the hidden field `name` of a page.
fn field(page: &Reply, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {}", page.body))
        + marker.len();
    let len = page.body[start..].find('"').unwrap();
    page.body[start..start + len].to_owned()
}

/// The session cookie (`name=value`) a reply sets.
fn cookie(reply: &Reply) -> String {
    let set = reply
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.contains("tessera-session="))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no session cookie: {reply:?}"));
    set.split(';').next().unwrap().to_owned()
}

fn post(base: &str, path: &str, cookie: &str, pairs: &[(&str, &str)]) -> Reply {
    request(base, "POST", path, &[("Cookie", cookie)], &form(pairs))
}

/// The `code` of a redirect to the client.
fn code_of(reply: &Reply) -> String {
    assert!(matches!(reply.status, 302 | 303), "{reply:?}");
    let location = reply.header("location").unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let query = location.split_once('?').unwrap().1;
    let code = query
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {location}"));
    assert!(query.contains("state=s1"), "{location}");
    code.to_owned()
}

fn redeem(base: &str, code: &str) -> (u16, serde_json::Value) {
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

#[test]
fn a_sign_in_moves_between_replicas_and_its_code_redeems_on_either_once() {
    let db = TestDatabase::create();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, base_a) = replica(dirs.0.path(), "ra", &db);
    let (_b, base_b) = replica(dirs.1.path(), "rb", &db);
    a.create_user("pia", &[], PASSWORD);
    crate::oauth::create_spa_client(&a, "spa", REDIRECT);
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()).as_ref(),
    );
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid%20profile&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        encode(REDIRECT)
    );

    // The login page from A; the password posted to B.
    let login = request(&base_a, "GET", &authorize, &[], "");
    assert_eq!(login.status, 200, "{login:?}");
    let anonymous = cookie(&login);
    let consent = post(
        &base_b,
        "/oauth2/login",
        &anonymous,
        &[
            ("csrf_token", &field(&login, "csrf_token")),
            ("request_id", &field(&login, "request_id")),
            ("username", "pia"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(consent.status, 200, "B continued A's sign-in: {consent:?}");
    assert!(
        consent.body.contains("value=\"approve\""),
        "{}",
        consent.body
    );
    let signed_in = cookie(&consent);
    assert_ne!(
        signed_in, anonymous,
        "a sign-in moves the session to a new id"
    );

    // A, which created the session, is killed; B holds nothing of it in memory either.
    a.kill();
    let (_a2, base_a2) = replica(dirs.0.path(), "ra", &db);
    let approved = post(
        &base_a2,
        "/oauth2/consent",
        &signed_in,
        &[
            ("csrf_token", &field(&consent, "csrf_token")),
            ("request_id", &field(&consent, "request_id")),
            ("decision", "approve"),
        ],
    );
    let code = code_of(&approved);

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

    // The old anonymous session id is gone on both replicas: it cannot be replayed.
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
