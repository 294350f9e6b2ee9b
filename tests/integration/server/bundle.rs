//! `bundle show` in both formats, a reader that goes away, and a restart that keeps the
//! CA.

use std::process::{Command, Stdio};

use tessera_proto::bundle::BundleDocument;
use tessera_tests::{ServerProcess, bin, guard};
use x509_parser::prelude::*;

use super::config;

fn pem_certs(text: &str) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(text.as_bytes())
        .map(|p| p.unwrap().contents)
        .collect()
}

#[test]
fn bundle_show_prints_the_ca_as_pem_and_as_a_spiffe_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());

    let pem = server.ok(&["bundle", "show"]);
    let certs = pem_certs(&pem);
    assert_eq!(certs.len(), 1, "{pem}");
    let (_, ca) = X509Certificate::from_der(&certs[0]).unwrap();
    assert!(ca.basic_constraints().unwrap().unwrap().value.ca);
    assert!(ca.key_usage().unwrap().unwrap().value.key_cert_sign());
    let san = ca.subject_alternative_name().unwrap().unwrap();
    assert_eq!(
        format!("{:?}", san.value.general_names),
        "[URI(\"spiffe://example.org\")]"
    );

    let json = server.ok(&["bundle", "show", "--format", "spiffe"]);
    let doc = BundleDocument::parse("example.org".parse().unwrap(), json.as_bytes()).unwrap();
    assert_eq!(doc.x509_authorities, certs);
    assert_eq!(doc.jwt_authorities.len(), 1);
    assert!(doc.sequence.unwrap() >= 1);
    assert_eq!(doc.refresh_hint, Some(300));
    let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
    let uses: Vec<_> = raw["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["use"].as_str().unwrap())
        .collect();
    assert!(
        uses.contains(&"x509-svid") && uses.contains(&"jwt-svid"),
        "{uses:?}"
    );
}

#[test]
fn a_restart_keeps_the_ca_and_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &config());
    let before = server.ok(&["bundle", "show", "--format", "spiffe"]);
    assert!(server.stop(), "SIGTERM is a graceful, successful stop");
    assert!(
        !server.socket.exists(),
        "the admin socket is removed on shutdown"
    );

    let server = ServerProcess::start_with(dir.path(), &server.config);
    let after = server.ok(&["bundle", "show", "--format", "spiffe"]);
    assert_eq!(before, after);
    let key = std::fs::metadata(dir.path().join(".tessera/server/seal.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let socket = std::fs::metadata(&server.socket).unwrap();
    assert_eq!(socket.permissions().mode() & 0o777, 0o600);
}

#[test]
fn healthcheck_fails_clearly_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nothing.sock");
    let out = tessera_tests::run_cli(&["healthcheck", "--socket", socket.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach the server"), "{err}");
}

/// A reader that goes away (`bundle show | head -1`) ends the command quietly with status
/// 141, what a shell reports for a command killed by SIGPIPE: no panic, nothing on stderr.
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    for format in ["pem", "spiffe"] {
        let mut cli = guard::spawn(
            Command::new(bin("tessera-server"))
                .args(["bundle", "show", "--format", format, "--socket"])
                .arg(&server.socket)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        // Closed before the command has even reached the server: its first write fails.
        drop(cli.stdout());
        let out = cli.wait_with_output();
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "bundle show --format {format}"
        );
        assert_eq!(
            out.status.code(),
            Some(141),
            "bundle show --format {format}"
        );
    }
}
