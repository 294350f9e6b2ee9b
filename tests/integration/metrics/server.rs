//! The server's metrics: token grants by grant type, method and result; failed logins;
//! datastore operations; authority expiry; build info; nothing secret in a scrape.

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_tests::http::{form, post_form, request};
use tessera_tests::{ServerProcess, free_port};

use super::{assert_well_formed, metrics_section, scrape, value};
use crate::health::{health_section, listening_ports, probe};

const PASSWORD: &str = "Metrics-Test-Passw0rd";

/// A server with `[oauth]` and `[metrics]` on loopback ports: it, the issuer, the port.
fn oauth_server(dir: &std::path::Path, metrics_extra: &str) -> (ServerProcess, String, u16) {
    let oauth = free_port();
    let metrics = free_port();
    let issuer = format!("http://127.0.0.1:{oauth}");
    let config = format!(
        "{}[oauth]\nbind_address = \"127.0.0.1:{oauth}\"\nissuer = \"{issuer}\"\n{}{metrics_extra}",
        crate::server::config(),
        metrics_section(metrics),
    );
    (ServerProcess::start(dir, &config), issuer, metrics)
}

/// Registers a confidential `client_credentials` client; its secret.
fn confidential_client(server: &ServerProcess, client_id: &str) -> String {
    let created: Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        client_id,
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--output",
        "json",
    ]))
    .unwrap();
    created["client_secret"].as_str().unwrap().to_owned()
}

/// Opens the login page for a public client and posts `username` with a wrong password;
/// returns the login answer's body.
fn failed_login(server: &ServerProcess, issuer: &str, username: &str) -> String {
    let redirect = format!("http://127.0.0.1:{}/cb", free_port());
    server.ok(&[
        "client",
        "create",
        "--client-id",
        "spa",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        &redirect,
        "--scope",
        "openid",
        "--public",
    ]);
    let query = form(&[
        ("response_type", "code"),
        ("client_id", "spa"),
        ("redirect_uri", &redirect),
        ("scope", "openid"),
        ("state", "s-123"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let page = request(
        issuer,
        "GET",
        &format!("/oauth2/authorize?{query}"),
        &[],
        "",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page.session_cookie().expect("a session cookie");
    let csrf = page.form_field("csrf_token").expect("csrf_token");
    let request_id = page.form_field("request_id").expect("request_id");
    let body = form(&[
        ("csrf_token", &csrf),
        ("request_id", &request_id),
        ("username", username),
        ("password", "Wrong-Passw0rd-Entirely"),
    ]);
    let answer = request(
        issuer,
        "POST",
        "/oauth2/login",
        &[("Cookie", cookie.as_str())],
        &body,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[test]
fn token_grants_logins_and_the_datastore_move_their_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer, port) = oauth_server(dir.path(), "");
    let before = scrape(port);
    assert_well_formed(&before);
    assert!(
        before.contains("tessera_build_info{binary=\"tessera-server\",version=\""),
        "{before}"
    );
    // Authorities: seconds left, positive, per kind and slot.
    for authority in ["x509", "jwt", "oauth"] {
        let left = value(
            &before,
            &format!(
                "tessera_server_authority_expiry_seconds{{authority=\"{authority}\",state=\"active\"}}"
            ),
        );
        assert!(left > 3600.0, "{authority}: {left}\n{before}");
    }

    // client_credentials with client_secret_post: one granted, one refused.
    let secret = confidential_client(&server, "metrics-app");
    let (status, body) = post_form(
        &issuer,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "metrics-app"),
            ("client_secret", &secret),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = post_form(
        &issuer,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "metrics-app"),
            ("client_secret", "not-the-secret"),
        ],
    );
    assert_eq!(status, 401);

    // A failed sign-in.
    server.create_user("dave-metrics", &[], PASSWORD);
    let page = failed_login(&server, &issuer, "dave-metrics");
    assert!(page.contains("Invalid username or password."), "{page}");

    let after = scrape(port);
    assert_well_formed(&after);
    let granted = "tessera_server_oauth_token_requests_total{grant_type=\"client_credentials\",\
                   auth_method=\"client_secret_post\",result=\"ok\"}";
    assert_eq!(value(&after, granted), 1.0, "{after}");
    let refused = "tessera_server_oauth_token_requests_total{grant_type=\"client_credentials\",\
                   auth_method=\"client_secret_post\",result=\"invalid_client\"}";
    assert_eq!(value(&after, refused), 1.0, "{after}");
    assert_eq!(
        value(
            &after,
            "tessera_server_oauth_token_duration_seconds_count{grant_type=\"client_credentials\"}"
        ),
        2.0,
        "{after}"
    );
    assert_eq!(
        value(
            &after,
            "tessera_server_logins_total{factor=\"password\",result=\"failure\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        value(
            &after,
            "tessera_server_logins_total{factor=\"password\",result=\"success\"}"
        ),
        0.0
    );
    // The datastore decorator saw the client lookups.
    let lookups =
        "tessera_server_datastore_operation_duration_seconds_count{op=\"get_oauth_client\"}";
    assert!(value(&after, lookups) >= 2.0, "{after}");
    assert!(value(&after, lookups) > value(&before, lookups));

    // Nothing secret, nothing unbounded: no token, secret, password, user or client id.
    for secret_text in [
        token.as_str(),
        secret.as_str(),
        PASSWORD,
        "Wrong-Passw0rd-Entirely",
        "not-the-secret",
        "dave-metrics",
        "metrics-app",
    ] {
        assert!(!after.contains(secret_text), "{secret_text} in the scrape");
    }
}

#[test]
fn client_ids_are_labels_only_when_the_operator_opts_in() {
    let dir = tempfile::tempdir().unwrap();
    let (server, issuer, port) = oauth_server(dir.path(), "client_id_labels = true\n");
    let secret = confidential_client(&server, "labelled-app");
    let basic = format!("Basic {}", base64_basic("labelled-app", &secret));
    let reply = request(
        &issuer,
        "POST",
        "/oauth2/token",
        &[("Authorization", basic.as_str())],
        &form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A claimed but unauthenticated client id never becomes a label.
    let (status, _) = post_form(
        &issuer,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "attacker-chosen-id"),
            ("client_secret", "x"),
        ],
    );
    assert_eq!(status, 401);
    let text = scrape(port);
    let series = "tessera_server_oauth_token_requests_total{grant_type=\"client_credentials\",\
                  auth_method=\"client_secret_basic\",result=\"ok\",client_id=\"labelled-app\"}";
    assert_eq!(value(&text, series), 1.0, "{text}");
    assert!(!text.contains("attacker-chosen-id"), "{text}");
    assert!(!text.contains(&secret));
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

#[test]
fn metrics_share_the_health_port_and_are_off_unless_set() {
    // Both on one port.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "{}{}{}",
        crate::server::config(),
        health_section(port),
        metrics_section(port)
    );
    let server = ServerProcess::start(dir.path(), &config);
    assert_eq!(probe(port, "/ready").0, 200);
    assert!(scrape(port).contains("tessera_server_svids_signed_total"));
    drop(server);

    // Health only: no `/metrics` there and no other listener.
    let dir = tempfile::tempdir().unwrap();
    let api = free_port();
    let health = free_port();
    let config = format!(
        "{}{}",
        crate::server::config_at(api),
        health_section(health)
    );
    let server = ServerProcess::start(dir.path(), &config);
    assert_eq!(probe(health, "/metrics").0, 404);
    assert_eq!(
        listening_ports(server.pid().unwrap()),
        BTreeSet::from([api, health])
    );
}
