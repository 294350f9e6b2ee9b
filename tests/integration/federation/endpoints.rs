//! Two Tessera trust domains federate through their bundle endpoints (no `bundle set`), their
//! workloads do mutual TLS with openssl, and a CA rotation of `b.example` reaches the
//! workloads of `a.example`; and the `https_web` endpoint profile with a configured CA.

use std::path::Path;

use super::{Domain, fake_endpoint, pem_blocks};

/// `cat` of PEM files into `out`.
fn concat(out: &Path, parts: &[&Path]) {
    let mut all = Vec::new();
    for p in parts {
        all.extend(std::fs::read(p).unwrap());
    }
    std::fs::write(out, all).unwrap();
}

/// openssl s_server (`server_dir`) and s_client (`client_dir`), each presenting its SVID
/// and trusting `<dir>/trust.pem`; both verify (`-verify_return_error`, client cert
/// required).
fn openssl_mtls(server_dir: &Path, client_dir: &Path) {
    let paths = |dir: &Path| ["svid.pem", "svid.key", "trust.pem"].map(|name| dir.join(name));
    let (server, client) = (paths(server_dir), paths(client_dir));
    use tessera_tests::openssl::MtlsSide;
    tessera_tests::openssl::mtls(MtlsSide::of(&server), MtlsSide::of(&client));
}

#[test]
fn two_trust_domains_federate_through_their_endpoints_and_rotations_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Domain::start(dir.path(), "a.example");
    let mut b = Domain::start(dir.path(), "b.example");
    a.federate_with(&b);
    b.federate_with(&a);

    // Each fetcher reached the other's endpoint (https_spiffe) and accepted its bundle.
    for (d, other) in [(&a, "b.example"), (&b, "a.example")] {
        let shown = d.wait_show(other, |s| s["status"]["last_refresh_at"].as_i64() > Some(0));
        assert_eq!(shown["status"]["last_error"], "", "{shown}");
        assert_eq!(shown["bundle_endpoint_profile"], "https_spiffe");
    }

    a.register("spiffe://a.example/api", "b.example");
    b.register("spiffe://b.example/client", "a.example");
    let a_files = a.fetch_until("api", "b.example", |certs| !certs.is_empty());
    let b_files = b.fetch_until("client", "a.example", |certs| !certs.is_empty());
    for (files, td) in [(&a_files, "b.example"), (&b_files, "a.example")] {
        concat(
            &files.join("trust.pem"),
            &[
                &files.join("bundle.pem"),
                &files.join(format!("federated_bundle.{td}.pem")),
            ],
        );
    }
    openssl_mtls(&a_files, &b_files);

    // b.example prepares its next CA: it is in b's bundle at once, and reaches a's workload
    // through b's bundle endpoint.
    let before = a.held_authorities("b.example");
    assert_eq!(before.len(), 1);
    b.server.ok(&["authority", "x509", "prepare"]);
    let b_bundle = pem_blocks(b.server.ok(&["bundle", "show"]).as_bytes());
    assert_eq!(b_bundle.len(), 2);
    let next = b_bundle
        .iter()
        .find(|c| !before.contains(c))
        .unwrap()
        .clone();
    a.fetch_until("api-after-rotation", "b.example", |certs| {
        certs.contains(&next)
    });
    assert!(a.held_authorities("b.example").contains(&next));
    let shown = a.show("b.example");
    assert_eq!(shown["status"]["last_error"], "", "{shown}");
    assert!(shown["bundle"]["sequence"].as_u64() > Some(0), "{shown}");
}

#[test]
fn an_https_web_endpoint_is_fetched_with_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let web = fake_endpoint::WebPki::new();
    let cert = dir.path().join("endpoint.pem");
    let key = dir.path().join("endpoint.key");
    web.write_server_files(&cert, &key);
    let ca = dir.path().join("web-ca.pem");
    std::fs::write(&ca, web.ca_pem()).unwrap();
    let b = Domain::server_only(
        dir.path(),
        "b.example",
        &format!(
            "profile = \"https_web\"\ncertificate_file = \"{}\"\nkey_file = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let a = Domain::server_only(
        dir.path(),
        "a.example",
        &format!("ca_file = \"{}\"\n", ca.display()),
    );
    let url = b.endpoint_url();
    a.server.ok(&[
        "federation",
        "create",
        "--trust-domain",
        "b.example",
        "--bundle-endpoint-url",
        &url,
        "--bundle-endpoint-profile",
        "https_web",
    ]);
    let shown = a.wait_show("b.example", |s| {
        s["status"]["last_refresh_at"].as_i64() > Some(0)
    });
    assert_eq!(shown["status"]["last_error"], "", "{shown}");
    assert_eq!(
        a.held_authorities("b.example"),
        pem_blocks(b.server.ok(&["bundle", "show"]).as_bytes())
    );
    let pretty = a
        .server
        .ok(&["federation", "show", "--trust-domain", "b.example"]);
    for line in [
        "Bundle endpoint profile   : https_web",
        "Last error                : none",
        "Bundle held               : sequence",
    ] {
        assert!(pretty.contains(line), "{pretty}");
    }

    // The CLI refuses what the API refuses, with a non-zero exit.
    let out = a.server.cli(&[
        "federation",
        "create",
        "--trust-domain",
        "c.example",
        "--bundle-endpoint-url",
        "http://127.0.0.1:1/",
        "--bundle-endpoint-profile",
        "https_web",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme must be https"));
    let out = a
        .server
        .cli(&["federation", "show", "--trust-domain", "c.example"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NotFound"));
}
