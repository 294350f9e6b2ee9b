//! Tenants: two tenants on one server, each its own issuer, with the same client IDs and
//! usernames; a cross-tenant attack suite (OAuth endpoints through python `requests` and
//! PyJWT; admin RPCs through the CLI); openid-client and authlib side by side on both
//! issuers.

mod admin;
mod interop;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use tessera_tests::ServerProcess;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A server with `[oauth]` and the tenants `acme` and `globex`.
pub(crate) struct Tenants {
    pub server: ServerProcess,
    /// The default tenant's issuer.
    pub issuer: String,
}

impl Tenants {
    pub fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, "")
    }

    /// [`Self::start`] with `datastore` (a `[datastore]` section; empty: sled).
    pub fn start_with(dir: &std::path::Path, datastore: &str) -> Self {
        let port = tessera_tests::free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let config = format!(
            "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\n{datastore}",
            crate::server::config()
        );
        let server = ServerProcess::start(dir, &config);
        for id in ["acme", "globex"] {
            server.ok(&[
                "tenant",
                "create",
                "--id",
                id,
                "--name",
                &format!("{id} Inc"),
            ]);
        }
        Self { server, issuer }
    }

    /// `<issuer>/t/<tenant>`.
    pub fn issuer_of(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.issuer)
    }

    /// Creates the confidential client_credentials client `id` in `tenant`; its secret.
    pub fn machine_client(&self, tenant: &str, id: &str) -> String {
        let out = self.server.ok(&[
            "client",
            "create",
            "--tenant",
            tenant,
            "--client-id",
            id,
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--audience",
            "https://api.example.org",
            "--output",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        v["client_secret"].as_str().unwrap().to_owned()
    }

    /// Creates the public code-flow client `id` (refresh tokens) in `tenant`.
    pub fn spa_client(&self, tenant: &str, id: &str) {
        self.server.ok(&[
            "client",
            "create",
            "--tenant",
            tenant,
            "--client-id",
            id,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid",
            "--public",
        ]);
    }

    /// Creates `username` in `tenant`; its ID.
    pub fn user(&self, tenant: &str, username: &str, password: &str) -> String {
        let out = self.server.create_user(
            username,
            &["--tenant", tenant, "--output", "json"],
            password,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        v["id"].as_str().unwrap().to_owned()
    }
}

fn python() -> PathBuf {
    std::env::var("TESSERA_PYTHON").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python"),
        PathBuf::from,
    )
}

/// Runs `tests/interop/python/<script>` with `stdin`; its JSON report.
pub(crate) fn python_report(
    script: &str,
    args: &[&str],
    stdin: &str,
    log: impl Fn() -> String,
) -> Value {
    let out = tessera_tests::run_with_stdin(
        Command::new(python())
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("interop/python")
                    .join(script),
            )
            .args(args),
        stdin,
    );
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every OAuth endpoint that touches tenant data, used with acme's credentials, tokens,
/// code, users and session at globex: each is refused with its exact error, and the same
/// request at acme works (so the denial is isolation, not a broken request).
#[test]
fn acme_cannot_use_anything_of_its_own_at_globex() {
    let dir = tempfile::tempdir().unwrap();
    attack(&Tenants::start(dir.path()));
}

/// The same on PostgreSQL, where row-level security stands behind every query.
#[test]
fn acme_cannot_use_anything_of_its_own_at_globex_on_postgres() {
    let db = tessera_tests::TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    attack(&Tenants::start_with(dir.path(), &db.server_config()));
    // Every tenant-owned row carries its tenant.
    let tenants = db.query_texts("SELECT DISTINCT tenant_id FROM users ORDER BY 1");
    assert_eq!(tenants, ["acme", "globex"]);
}

fn attack(t: &Tenants) {
    let secret_a = t.machine_client("acme", "web");
    let secret_b = t.machine_client("globex", "web");
    t.spa_client("acme", "spa");
    t.spa_client("globex", "spa");
    t.user("acme", "alice", "acme-alice-password-1");
    t.user("globex", "alice", "globex-alice-password-1");
    t.user("acme", "anna", "acme-anna-password-1");
    let config = json!({
        "a": t.issuer_of("acme"), "b": t.issuer_of("globex"),
        "client_id": "web", "secret_a": secret_a, "secret_b": secret_b,
        "spa": "spa", "redirect": REDIRECT,
        "username": "alice", "password_a": "acme-alice-password-1",
        "password_b": "globex-alice-password-1",
        "only_a": "anna", "password_only_a": "acme-anna-password-1",
    });
    let r = python_report("tenant_attacks.py", &[], &config.to_string(), || {
        t.server.log()
    });
    assert_eq!(r["issuer_a"], t.issuer_of("acme"), "{r}");
    assert_eq!(r["issuer_b"], t.issuer_of("globex"), "{r}");
    // Client credentials: acme's secret fails at globex for the same client ID.
    assert_eq!(
        r["cc_with_a_secret_at_b"],
        json!([401, "invalid_client"]),
        "{r}"
    );
    assert_eq!(r["cc_with_b_secret_at_b"], json!([200, null]), "{r}");
    // Keys: own JWKS per tenant; acme's token verifies with no key of globex.
    assert_eq!(r["kid_in_a"], true, "{r}");
    assert_eq!(r["kid_in_b"], false, "{r}");
    assert_eq!(r["jwks_disjoint"], true, "{r}");
    let tries = r["a_token_with_b_keys"].as_array().unwrap();
    assert!(!tries.is_empty(), "{r}");
    assert!(tries.iter().all(|e| e == "InvalidSignatureError"), "{r}");
    assert_eq!(r["a_token_iss"], t.issuer_of("acme"), "{r}");
    // Introspection and revocation at globex by its client of the same ID.
    assert_eq!(
        r["introspect_a_token_at_b"],
        json!({"active": false}),
        "{r}"
    );
    assert_eq!(r["introspect_b_token_at_b"], true, "{r}");
    assert_eq!(r["revoke_a_token_at_b"], 200, "{r}");
    assert_eq!(r["a_token_active_at_a_after"], true, "{r}");
    // Users: acme's users cannot sign in at globex.
    assert_eq!(
        r["only_a_user_at_b"], "Invalid username or password.",
        "{r}"
    );
    assert_eq!(r["a_password_at_b"], "Invalid username or password.", "{r}");
    // Sessions: signed in at acme is not signed in at globex, whatever the cookie says.
    assert_eq!(r["sign_in_at_a"], Value::Null, "{r}");
    assert_eq!(r["cookies_after_a"], json!(["tessera-session.acme"]), "{r}");
    assert_eq!(r["a_session_at_b_prompt_none"], "login_required", "{r}");
    assert_eq!(r["a_session_value_at_b"], "login_required", "{r}");
    // Codes and user tokens.
    assert_eq!(r["a_code_at_b"], json!([400, "invalid_grant"]), "{r}");
    assert_eq!(r["a_code_at_a"], 200, "{r}");
    let userinfo = r["a_access_token_userinfo_at_b"].as_array().unwrap();
    assert_eq!(userinfo[0], 401, "{r}");
    assert!(
        userinfo[1]
            .as_str()
            .unwrap()
            .contains("error=\"invalid_token\""),
        "{r}"
    );
    assert_eq!(r["a_access_token_userinfo_at_a"], 200, "{r}");
    assert_eq!(r["a_refresh_at_b"], json!([400, "invalid_grant"]), "{r}");
    assert_eq!(r["a_refresh_at_a"], 200, "{r}");
    // Audit records carry the tenant of each request.
    let log = t.server.log();
    assert!(
        log.contains("tenant=globex"),
        "no globex request span in the log"
    );
    assert!(!log.contains(&secret_a) && !log.contains(&secret_b));
}

/// A tenant that does not exist has no issuer; the default tenant has one issuer only.
#[test]
fn unknown_tenants_and_t_default_have_no_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tenants::start(dir.path());
    for path in [
        "/t/nobody/.well-known/openid-configuration",
        "/t/default/.well-known/openid-configuration",
        "/t/Acme/oauth2/token",
        "/.well-known/oauth-authorization-server/t/nobody",
    ] {
        let (status, body) = tessera_tests::http::get_json(&t.issuer, path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not_found", "{path}");
    }
    let (status, body) =
        tessera_tests::http::get_json(&t.issuer, "/.well-known/oauth-authorization-server/t/acme");
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], t.issuer_of("acme"));
    assert_eq!(
        body["token_endpoint"],
        format!("{}/oauth2/token", t.issuer_of("acme"))
    );
}
