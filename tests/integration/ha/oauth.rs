//! The OAuth server on PostgreSQL: the authorization code flow with refresh rotation and
//! reuse detection (npm `openid-client`), with users, clients, consents and grants in the
//! database.

use tessera_tests::{ServerProcess, TestDatabase, free_port};

const PASSWORD: &str = "Pg-Auth-Code-Passw0rd";

#[test]
fn the_code_flow_with_refresh_rotation_works_on_postgres() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = format!(
        "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\n{}",
        crate::server::config(),
        db.server_config()
    );
    let server = ServerProcess::start(dir.path(), &config);
    server.create_user("pia", &[], PASSWORD);
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    crate::oauth::create_spa_client(&server, "pg-spa", &redirect);
    let v = crate::oauth::openid_client(
        "auth_code.mjs",
        &[&issuer, "pg-spa", &redirect, "pia"],
        PASSWORD,
        || server.log(),
    );
    assert_eq!(v["userinfo"]["preferred_username"], "pia", "{v}");
    let r = &v["refresh"];
    assert_eq!(r["rotated"], true, "every refresh rotates: {v}");
    assert_eq!(
        r["reuse"], "invalid_grant",
        "a rotated token is refused: {v}"
    );
    assert_eq!(
        r["newest_after_reuse"], "invalid_grant",
        "reuse revokes the whole family: {v}"
    );
    assert_eq!(v["replay"], "invalid_grant", "{v}");

    // The accounts, client and consent are PostgreSQL rows; the reused family is gone.
    assert_eq!(db.query_texts("SELECT username_key FROM users"), ["pia"]);
    assert_eq!(
        db.query_texts("SELECT client_id FROM oauth_clients"),
        ["pg-spa"]
    );
    assert_eq!(db.query_texts("SELECT client_id FROM consents"), ["pg-spa"]);
    assert!(db.query_texts("SELECT grant_id FROM grants").is_empty());
    assert!(
        db.query_texts("SELECT token_hash FROM refresh_tokens")
            .is_empty()
    );
    assert!(
        !server.log().contains(PASSWORD),
        "the password reached the log"
    );
}
