//! The leaked-key story through the CLI: prepare, activate, taint, revoke.

use tessera_tests::ServerProcess;

use super::config;

fn ids(show: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut id = None;
    for line in show.lines() {
        if let Some(rest) = line.strip_prefix("Authority ID: ") {
            id = Some(rest.trim().to_string());
        } else if let Some(rest) = line.trim().strip_prefix("State:") {
            out.push((id.take().unwrap(), rest.trim().to_string()));
        }
    }
    out
}

fn pem_count(server: &ServerProcess) -> usize {
    server
        .ok(&["bundle", "show"])
        .matches("BEGIN CERTIFICATE")
        .count()
}

fn sequence(server: &ServerProcess) -> u64 {
    let json = server.ok(&["bundle", "show", "--format", "spiffe"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["spiffe_sequence"].as_u64().unwrap()
}

#[test]
fn an_operator_rotates_taints_and_revokes_a_leaked_x509_authority() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    let shown = ids(&server.ok(&["authority", "x509", "show"]));
    assert_eq!(shown.len(), 1);
    let (leaked, state) = shown[0].clone();
    assert_eq!(state, "active");

    // Tainting the active authority is refused: rotate first.
    let out = server.cli(&["authority", "x509", "taint", "--authority-id", &leaked]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("only an OLD authority can be tainted"),
        "{err}"
    );

    let prepared = ids(&server.ok(&["authority", "x509", "prepare"]));
    let next = prepared[0].0.clone();
    assert_eq!(prepared[0].1, "prepared");
    assert_eq!(
        pem_count(&server),
        2,
        "the prepared CA is published before use"
    );
    server.ok(&["authority", "x509", "activate", "--authority-id", &next]);

    let seq = sequence(&server);
    let tainted = server.ok(&["authority", "x509", "taint", "--authority-id", &leaked]);
    assert!(tainted.contains("(tainted)"), "{tainted}");
    assert_eq!(sequence(&server), seq + 1, "taint changes the bundle");

    server.ok(&["authority", "x509", "revoke", "--authority-id", &leaked]);
    assert_eq!(pem_count(&server), 1, "the revoked CA left the bundle");
    assert_eq!(sequence(&server), seq + 2);
    let left = ids(&server.ok(&["authority", "x509", "show"]));
    assert_eq!(left, vec![(next, "active".to_string())]);
}

#[test]
fn jwt_keys_follow_the_same_story_and_unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    let leaked = ids(&server.ok(&["authority", "jwt", "show"]))[0].0.clone();
    let next = ids(&server.ok(&["authority", "jwt", "prepare"]))[0]
        .0
        .clone();
    server.ok(&["authority", "jwt", "activate", "--authority-id", &next]);
    server.ok(&["authority", "jwt", "taint", "--authority-id", &leaked]);
    server.ok(&["authority", "jwt", "revoke", "--authority-id", &leaked]);
    let json = server.ok(&["bundle", "show", "--format", "spiffe"]);
    assert!(!json.contains(&leaked), "revoked key still published");
    assert!(json.contains(&next));

    let out = server.cli(&[
        "authority",
        "jwt",
        "revoke",
        "--authority-id",
        "no-such-key",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NotFound"), "{err}");
}

/// `curl` a URL and parse its JSON body.
fn curl_json(args: &[&str]) -> serde_json::Value {
    let out = tessera_tests::guard::output(
        std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20"])
            .args(args),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn jwks_kids(issuer: &str) -> Vec<String> {
    let jwks = curl_json(&[&format!("{issuer}/.well-known/jwks.json")]);
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn oauth_signing_keys_rotate_and_a_revoked_key_leaves_the_jwks() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let port = tessera_tests::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = ServerProcess::start(
        dir.path(),
        &format!(
            "{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"{issuer}\"\n",
            config()
        ),
    );
    let created: serde_json::Value = serde_json::from_str(&server.ok(&[
        "client",
        "create",
        "--client-id",
        "rotating",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--output",
        "json",
    ]))
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let token_kid = || {
        let reply = curl_json(&[
            "-u",
            &format!("rotating:{secret}"),
            "-d",
            "grant_type=client_credentials",
            &format!("{issuer}/oauth2/token"),
        ]);
        let token = reply["access_token"].as_str().unwrap().to_string();
        let header = token.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_string()
    };

    let shown = ids(&server.ok(&["authority", "oauth", "show"]));
    assert_eq!(shown.len(), 1, "{shown:?}");
    let (old, state) = shown[0].clone();
    assert_eq!(state, "active");
    assert_eq!(token_kid(), old);

    let prepared = ids(&server.ok(&["authority", "oauth", "prepare"]));
    let next = prepared[0].0.clone();
    assert_eq!(prepared[0].1, "prepared");
    assert!(
        jwks_kids(&issuer).contains(&next),
        "a prepared key is published before it signs"
    );
    assert_eq!(token_kid(), old, "the prepared key does not sign yet");

    server.ok(&["authority", "oauth", "activate", "--authority-id", &next]);
    assert_eq!(token_kid(), next, "new tokens carry the new kid");
    let kids = jwks_kids(&issuer);
    assert!(
        kids.contains(&old) && kids.contains(&next),
        "tokens of the old key still verify: {kids:?}"
    );

    // Revoking needs a taint first; after it the old key is gone from the JWKS.
    let refused = server.cli(&["authority", "oauth", "revoke", "--authority-id", &old]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("authority {old} is not tainted: taint it first")),
        "{err}"
    );
    assert!(kids_still(&issuer, &old));
    server.ok(&["authority", "oauth", "taint", "--authority-id", &old]);
    server.ok(&["authority", "oauth", "revoke", "--authority-id", &old]);
    assert_eq!(jwks_kids(&issuer), vec![next.clone()]);
    assert_eq!(token_kid(), next);
    // The commands without --tenant act on the default tenant's keys; a tenant the server
    // holds no keys for has none to show and none to prepare.
    let shown = server.ok(&["authority", "oauth", "show", "--tenant", "default"]);
    assert_eq!(ids(&shown), [(next.clone(), "active".to_string())]);
    assert!(shown.contains("Tenant:     default"), "{shown}");
    assert!(ids(&server.ok(&["authority", "oauth", "--tenant", "acme", "show"])).is_empty());
    let refused = server.cli(&["authority", "oauth", "prepare", "--tenant", "acme"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("tenant acme has no OAuth keys"), "{err}");
    // The SPIFFE bundle never held OAuth keys.
    let bundle = server.ok(&["bundle", "show", "--format", "spiffe"]);
    assert!(
        !bundle.contains(&next) && !bundle.contains(&old),
        "{bundle}"
    );
}

fn kids_still(issuer: &str, kid: &str) -> bool {
    jwks_kids(issuer).iter().any(|k| k == kid)
}
