//! The OAuth server over HTTPS with the server's own X.509-SVID (`serve_svid`), verified by
//! curl with the trust bundle as CA; mTLS (`tls_client_auth`) with a workload's SVID fetched
//! from a real agent; and the TLS start-up checks.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use tessera_tests::{ServerProcess, bin, free_port};

use crate::workload::{Node, my_uid};

/// `[oauth]` with `serve_svid` on `port`, issuer `https://<host>:<port>`.
fn oauth_svid_section(host: &str, port: u16) -> String {
    format!(
        "[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"https://{host}:{port}\"\nserve_svid = true\n"
    )
}

fn curl(args: &[&str]) -> Output {
    tessera_tests::guard::output(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20"])
            .args(args),
    )
}

/// What the server sends back (until it closes) to a cleartext HTTP/1.1 request on `port`.
fn plain_http_reply(port: u16) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    tcp.write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    tcp.read_to_end(&mut reply)
        .expect("the server neither answered nor closed");
    reply
}

fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn serve_svid_discovery_over_https_verifies_with_the_bundle_as_ca() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "{}{}",
        crate::server::config(),
        oauth_svid_section("localhost", port)
    );
    let server = ServerProcess::start(dir.path(), &config);
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, server.ok(&["bundle", "show", "--format", "pem"])).unwrap();
    let issuer = format!("https://localhost:{port}");
    let cacert = bundle.to_str().unwrap();

    let discovery = stdout_json(&curl(&[
        "--cacert",
        cacert,
        &format!("{issuer}/.well-known/openid-configuration"),
    ]));
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{issuer}/oauth2/token").as_str()
    );
    let jwks = stdout_json(&curl(&[
        "--cacert",
        cacert,
        "--http2",
        &format!("{issuer}/.well-known/jwks.json"),
    ]));
    assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");

    // Without the bundle the certificate is not trusted (curl: 60, peer verification failed).
    let untrusted = curl(&[&format!("{issuer}/.well-known/jwks.json")]);
    assert_eq!(
        untrusted.status.code(),
        Some(60),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    // Over plain HTTP nothing is served: the TLS port answers a cleartext request with a TLS
    // alert record (content type 21) or closes, never with HTTP.
    let reply = plain_http_reply(port);
    assert!(
        reply.is_empty() || reply[0] == 21,
        "plain HTTP answered on the TLS port: {:?}",
        String::from_utf8_lossy(&reply)
    );
    // The server certificate is the server's SVID with the issuer host as a DNS SAN.
    let shown = tessera_tests::guard::output(Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName"
        )));
    let sans = String::from_utf8_lossy(&shown.stdout);
    assert!(
        sans.contains("URI:spiffe://example.org/tessera/server") && sans.contains("DNS:localhost"),
        "{sans}"
    );
}

#[test]
fn serve_svid_with_an_ip_issuer_carries_an_ip_san() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "{}{}",
        crate::server::config(),
        oauth_svid_section("127.0.0.1", port)
    );
    let server = ServerProcess::start(dir.path(), &config);
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, server.ok(&["bundle", "show", "--format", "pem"])).unwrap();
    // curl checks the IP address against the certificate's IP SANs.
    let metadata = stdout_json(&curl(&[
        "--cacert",
        bundle.to_str().unwrap(),
        &format!("https://127.0.0.1:{port}/.well-known/oauth-authorization-server"),
    ]));
    assert_eq!(
        metadata["issuer"],
        format!("https://127.0.0.1:{port}").as_str()
    );
}

#[test]
fn tls_start_up_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = crate::server::config();
    let cases = [
        (
            "[oauth]\nbind_address = \"0.0.0.0:0\"\nissuer = \"http://auth.example.org\"\n",
            "oauth.bind_address",
        ),
        (
            "[oauth]\nbind_address = \"127.0.0.1:0\"\nissuer = \"http://localhost\"\nserve_svid = true\n",
            "oauth.issuer",
        ),
        (
            "[oauth]\nbind_address = \"0.0.0.0:0\"\nissuer = \"https://auth.example.org\"\ntls_cert_file = \"/nonexistent/chain.pem\"\ntls_key_file = \"/nonexistent/key.pem\"\n",
            "/nonexistent/chain.pem",
        ),
    ];
    for (i, (oauth, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("server-{i}.toml"));
        std::fs::write(&path, format!("{base}{oauth}")).unwrap();
        // In the temporary directory: the relative data_dir must not land in the repo.
        let out = tessera_tests::guard::output(
            Command::new(bin("tessera-server"))
                .args(["run", "--config", path.to_str().unwrap()])
                .current_dir(dir.path())
                .stdin(Stdio::null()),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{oauth} started");
        assert!(stderr.contains(needle), "{needle} not in: {stderr}");
    }
}

/// A server with `[oauth]` (serve_svid, issuer on 127.0.0.1: an IP SAN) and an attested agent.
fn node_with_oauth(dir: &Path, oauth_port: u16) -> Node {
    Node::start_with(dir, &oauth_svid_section("127.0.0.1", oauth_port))
}

#[test]
fn a_workload_svid_gets_a_certificate_bound_token_over_mtls_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = node_with_oauth(dir.path(), port);
    let uid = my_uid();
    let spiffe_id = "spiffe://example.org/mesh-svc";
    node.register(spiffe_id, uid, &[]);
    let svid_dir = dir.path().join("svid");
    let fetched = node.agent_cli(
        uid,
        &[
            "api",
            "fetch",
            "x509",
            "--write",
            svid_dir.to_str().unwrap(),
        ],
    );
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let bundle = dir.path().join("server-bundle.pem");
    std::fs::write(
        &bundle,
        node.server.ok(&["bundle", "show", "--format", "pem"]),
    )
    .unwrap();
    node.server.ok(&[
        "client",
        "create",
        "--client-id",
        "mesh-svc",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--auth-method",
        "tls_client_auth",
        "--spiffe-id",
        spiffe_id,
        "--output",
        "json",
    ]);

    let token_url = format!("https://127.0.0.1:{port}/oauth2/token");
    let svid = svid_dir.join("svid.pem");
    let key = svid_dir.join("svid.key");
    let reply = stdout_json(&curl(&[
        "--cert",
        svid.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--cacert",
        bundle.to_str().unwrap(),
        "-d",
        "grant_type=client_credentials",
        "-d",
        "client_id=mesh-svc",
        &token_url,
    ]));
    let token = reply["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"));
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["client_id"], "mesh-svc");
    assert_eq!(claims["scope"], "read");

    // cnf.x5t#S256 = base64url(SHA-256(leaf DER)) of the certificate curl presented.
    let pem_bytes = std::fs::read(&svid).unwrap();
    let (_, leaf) = x509_parser::pem::parse_x509_pem(&pem_bytes).unwrap();
    let leaf = leaf.contents;
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &leaf));
    assert_eq!(claims["cnf"]["x5t#S256"], thumbprint.as_str(), "{claims}");

    // Without the certificate the same request is refused.
    let refused = curl(&[
        "--cacert",
        bundle.to_str().unwrap(),
        "-d",
        "grant_type=client_credentials",
        "-d",
        "client_id=mesh-svc",
        "--write-out",
        "%{http_code}",
        "--output",
        "/dev/null",
        &token_url,
    ]);
    assert_eq!(String::from_utf8_lossy(&refused.stdout), "401");
}
