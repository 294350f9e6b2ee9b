//! What a bundle endpoint must not get away with: serving the bundle of another trust
//! domain, or (`https_spiffe`) presenting a certificate that does not chain to the bundle
//! held. Each is refused, shown as the relationship's last error, and the last good bundle
//! stays; pointing back at the real endpoint recovers.

use std::path::Path;

use rcgen::SanType;

use super::{Domain, fake_endpoint};

fn update(a: &Domain, url: &str, profile: &str, endpoint_id: Option<&str>) {
    let mut args = vec![
        "federation",
        "update",
        "--trust-domain",
        "b.example",
        "--bundle-endpoint-url",
        url,
        "--bundle-endpoint-profile",
        profile,
    ];
    if let Some(id) = endpoint_id {
        args.extend(["--endpoint-spiffe-id", id]);
    }
    a.server.ok(&args);
}

fn ca_file(dir: &Path, web: &fake_endpoint::WebPki) -> String {
    let path = dir.join("web-ca.pem");
    std::fs::write(&path, web.ca_pem()).unwrap();
    format!("ca_file = \"{}\"\n", path.display())
}

#[test]
fn a_foreign_bundle_or_a_bad_chain_is_refused_and_the_last_good_bundle_kept() {
    let dir = tempfile::tempdir().unwrap();
    let web = fake_endpoint::WebPki::new();
    let a = Domain::server_only(dir.path(), "a.example", &ca_file(dir.path(), &web));
    let b = Domain::server_only(dir.path(), "b.example", "");
    a.federate_with(&b);
    let good = a.wait_show("b.example", |s| {
        s["status"]["last_refresh_at"].as_i64() > Some(0)
    });
    assert_eq!(good["status"]["last_error"], "", "{good}");
    let held = a.held_authorities("b.example");
    let held_sequence = good["bundle"]["sequence"].clone();

    // An https_web endpoint (trusted certificate) serving a.example's bundle for b.example.
    let foreign = a.server.ok(&["bundle", "show", "--format", "spiffe"]);
    let (leaf, key) = web.localhost();
    let port = fake_endpoint::serve(vec![leaf], key, foreign);
    update(&a, &format!("https://127.0.0.1:{port}/"), "https_web", None);
    let refused = a.wait_show("b.example", |s| {
        s["status"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("another trust domain"))
    });
    assert!(
        refused["status"]["last_error"]
            .as_str()
            .unwrap()
            .contains("spiffe://a.example"),
        "{refused}"
    );
    assert_eq!(
        a.held_authorities("b.example"),
        held,
        "last good bundle kept"
    );
    assert_eq!(refused["bundle"]["sequence"], held_sequence);

    // An https_spiffe endpoint whose "SVID" for the right ID is signed by a rogue CA, serving
    // a bundle that names that CA.
    let rogue = fake_endpoint::WebPki::new();
    let (svid, svid_key) = rogue.leaf(vec![SanType::URI(
        "spiffe://b.example/tessera/server".try_into().unwrap(),
    )]);
    let port = fake_endpoint::serve(vec![svid], svid_key, r#"{"keys":[]}"#.into());
    update(
        &a,
        &format!("https://127.0.0.1:{port}/"),
        "https_spiffe",
        Some("spiffe://b.example/tessera/server"),
    );
    let refused = a.wait_show("b.example", |s| {
        s["status"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("does not chain to the held bundle"))
    });
    assert_eq!(a.held_authorities("b.example"), held, "{refused}");
    // The server never served the fake "everything revoked" document to anyone.
    assert_eq!(refused["bundle"]["sequence"], held_sequence);

    // Back to b's real endpoint: accepted again.
    update(
        &a,
        &b.endpoint_url(),
        "https_spiffe",
        Some("spiffe://b.example/tessera/server"),
    );
    let recovered = a.wait_show("b.example", |s| s["status"]["last_error"] == "");
    assert_eq!(a.held_authorities("b.example"), held, "{recovered}");
}
