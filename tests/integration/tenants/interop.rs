//! Unmodified clients on two tenants' issuers side by side: npm `openid-client`
//! (discovery, client_credentials, introspection, revocation) and python `authlib` with
//! PyJWT's `PyJWKClient` (each tenant's JWKS).

use std::path::PathBuf;
use std::process::Command;

use super::Tenants;

#[test]
fn openid_client_and_authlib_use_two_tenants_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tenants::start(dir.path());
    let mut jwks = Vec::new();
    for tenant in ["acme", "globex"] {
        let issuer = t.issuer_of(tenant);
        let secret = t.machine_client(tenant, "partner");
        let node = crate::oauth::openid_client(
            "oauth_client.mjs",
            &[
                &issuer,
                "secret",
                "partner",
                &secret,
                "https://api.example.org",
            ],
            "",
            || t.server.log(),
        );
        for method in ["client_secret_basic", "client_secret_post"] {
            let m = &node[method];
            assert_eq!(m["issuer"], issuer.as_str(), "{node}");
            assert_eq!(m["introspection"]["active"], true, "{node}");
            assert_eq!(m["introspection"]["client_id"], "partner", "{node}");
            assert_eq!(m["after_revocation"]["active"], false, "{node}");
        }
        let out = tessera_tests::guard::output(
            Command::new(super::python())
                .arg(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("interop/python/oauth_client.py"),
                )
                .args([&issuer, "partner", &secret, "https://api.example.org"]),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["issuer"], issuer.as_str(), "{v}");
        assert_eq!(
            v["client_secret_basic"]["claims"]["iss"],
            issuer.as_str(),
            "{v}"
        );
        assert_eq!(v["wrong_secret"], "invalid_client", "{v}");
        let path = format!("/t/{tenant}/.well-known/jwks.json");
        let (status, keys) = tessera_tests::http::get_json(&t.issuer, &path);
        assert_eq!(status, 200);
        let kids: Vec<String> = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert!(!kids.is_empty());
        jwks.push(kids);
    }
    // Each tenant signs with keys of its own.
    assert!(jwks[0].iter().all(|k| !jwks[1].contains(k)), "{jwks:?}");
}
