//! Clients nobody here wrote: the python `spiffe` package (grpcio), the Rust `spiffe` crate,
//! openssl; and mutual TLS between two workloads of different uids with their SVIDs.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::{Node, OTHER_UID, WAIT, my_uid};

/// The venv python with `spiffe` installed (tests/run creates it).
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_PYTHON") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/py-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run tests/run, which creates the venv",
        venv.display()
    );
    venv
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/python/workload_client.py")
}

#[test]
fn the_python_spiffe_client_fetches_validates_and_sees_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/py", my_uid(), &[]);

    let out = tessera_tests::guard::output(
        Command::new(python())
            .arg(script())
            .arg(&node.socket)
            .arg("spiffe://example.org/db"),
    );
    assert!(
        out.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["x509_spiffe_id"], "spiffe://example.org/py");
    assert_eq!(v["jwt_spiffe_id"], "spiffe://example.org/py");
    assert_eq!(v["validated_spiffe_id"], "spiffe://example.org/py");
    assert_eq!(
        v["jwt_audience"],
        serde_json::json!(["spiffe://example.org/db"])
    );
    assert!(
        v["x509_bundle_trust_domains"]
            .to_string()
            .contains("example.org"),
        "{v}"
    );
    assert!(
        v["jwt_bundle_trust_domains"]
            .to_string()
            .contains("example.org"),
        "{v}"
    );
    assert_eq!(
        v["wrong_audience"],
        "refused: INVALID_ARGUMENT: JWT-SVID audience does not contain the requested audience",
        "{v}"
    );

    // Streaming: the first context at once, then updates until the SVID is re-issued.
    let mut watch = tessera_tests::guard::spawn(
        Command::new(python())
            .arg(script())
            .arg(&node.socket)
            .arg("x")
            .arg("--until-rotated")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // The stream is open once its first context has arrived; only then rotate.
    let lines = watch.follow_stdout(|_| true);
    lines.wait_ready(WAIT, "the python stream received no first context");
    let next = node.server.ok(&["authority", "x509", "prepare"]);
    let new_id = next
        .lines()
        .find_map(|l| l.strip_prefix("Authority ID: "))
        .unwrap()
        .trim()
        .to_string();
    let show = node.server.ok(&["authority", "x509", "show"]);
    let old_id = show
        .lines()
        .filter_map(|l| l.strip_prefix("Authority ID: "))
        .map(str::trim)
        .find(|id| *id != new_id)
        .unwrap()
        .to_string();
    node.server
        .ok(&["authority", "x509", "activate", "--authority-id", &new_id]);
    node.server
        .ok(&["authority", "x509", "taint", "--authority-id", &old_id]);
    let deadline = std::time::Instant::now() + WAIT;
    while watch.try_wait().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the python stream saw no rotation"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let lines = lines.lines();
    let updates: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(updates.len() >= 2, "{lines:?}");
    assert_eq!(updates[0]["spiffe_id"], "spiffe://example.org/py");
    let last = updates.last().unwrap();
    assert_eq!(last["spiffe_id"], "spiffe://example.org/py");
    assert_ne!(
        updates[0]["serial"], last["serial"],
        "a new SVID after the rotation: {lines:?}"
    );
}

#[test]
fn the_rust_spiffe_crate_fetches_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/rs", my_uid(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let endpoint = format!("unix://{}", node.socket.display());
        let client = spiffe::WorkloadApiClient::connect_to(&endpoint)
            .await
            .unwrap();
        let svid = client.fetch_x509_svid().await.unwrap();
        assert_eq!(svid.spiffe_id().to_string(), "spiffe://example.org/rs");
        let bundles = client.fetch_x509_bundles().await.unwrap();
        let td = spiffe::TrustDomain::new("example.org").unwrap();
        let bundle = bundles.get(&td).expect("own bundle");
        assert!(!bundle.authorities().is_empty());
        let jwt = client.fetch_jwt_svid(["db"], None).await.unwrap();
        assert_eq!(jwt.spiffe_id().to_string(), "spiffe://example.org/rs");
        let validated = client.validate_jwt_token("db", jwt.token()).await.unwrap();
        assert_eq!(validated.spiffe_id().to_string(), "spiffe://example.org/rs");
        assert!(
            client
                .validate_jwt_token("other", jwt.token())
                .await
                .is_err()
        );
        let jwt_bundles = client.fetch_jwt_bundles().await.unwrap();
        assert!(jwt_bundles.get(&td).is_some());
    });
}

/// A workload's SVID files: `svid.pem` (chain), `svid.key` (PKCS#8), `bundle.pem`.
pub(super) struct Files {
    pub(super) dir: PathBuf,
}

impl Files {
    /// The SVID chain, its key and the bundle.
    fn paths(&self) -> [PathBuf; 3] {
        ["svid.pem", "svid.key", "bundle.pem"].map(|name| self.dir.join(name))
    }
    fn chain(&self) -> Vec<Vec<u8>> {
        pem_blocks(&self.dir.join("svid.pem"))
    }
    fn key(&self) -> Vec<u8> {
        pem_blocks(&self.dir.join("svid.key")).remove(0)
    }
    fn bundle(&self) -> Vec<Vec<u8>> {
        pem_blocks(&self.dir.join("bundle.pem"))
    }
}

fn pem_blocks(path: &std::path::Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).unwrap();
    x509_parser::pem::Pem::iter_from_buffer(&text)
        .map(|p| p.unwrap().contents)
        .collect()
}

/// Fetches the SVID of `uid` with `api fetch x509 --write` run AS that uid.
pub(super) fn fetch_as(node: &Node, uid: u32, name: &str) -> Files {
    use std::os::unix::fs::PermissionsExt;
    let dir = node.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = node.agent_cli(
        uid,
        &["api", "fetch", "x509", "--write", dir.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "uid {uid}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Files { dir }
}

pub(super) fn spiffe_id_of(cert: &[u8]) -> String {
    let (_, c) = x509_parser::parse_x509_certificate(cert).unwrap();
    let san = c.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .find_map(|n| match n {
            x509_parser::extensions::GeneralName::URI(u) => Some(u.to_string()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn two_workloads_of_different_uids_do_mutual_tls_authorizing_by_spiffe_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register("spiffe://example.org/api", my_uid(), &[]);
    node.register("spiffe://example.org/client", OTHER_UID, &[]);
    let server_files = fetch_as(&node, my_uid(), "api");
    let client_files = fetch_as(&node, OTHER_UID, "client");
    assert_eq!(
        spiffe_id_of(&server_files.chain()[0]),
        "spiffe://example.org/api"
    );
    assert_eq!(
        spiffe_id_of(&client_files.chain()[0]),
        "spiffe://example.org/client"
    );

    rustls_mtls(&server_files, &client_files);
    openssl_mtls(&server_files, &client_files, "spiffe://example.org/api");
}

fn rustls_mtls(server: &Files, client: &Files) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in server.bundle() {
        roots.add(CertificateDer::from(c)).unwrap();
    }
    let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = |f: &Files| {
        f.chain()
            .into_iter()
            .map(CertificateDer::from)
            .collect::<Vec<_>>()
    };
    let key = |f: &Files| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(f.key()));
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(chain(server), key(server))
        .unwrap();
    // The client authorizes the server by SPIFFE ID (no DNS name in SVIDs).
    let bundle = tessera_proto::wire::tessera::types::v1::Bundle {
        trust_domain: "example.org".into(),
        x509_authorities: client
            .bundle()
            .into_iter()
            .map(
                |asn1| tessera_proto::wire::tessera::types::v1::X509Authority {
                    asn1,
                    tainted: false,
                },
            )
            .collect(),
        ..Default::default()
    };
    let connect = |expected: &str| {
        let verifier = Arc::new(tessera_agent::tls::SpiffeServerVerifier::new(
            &bundle,
            expected.into(),
        ));
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(chain(client), key(client))
            .unwrap();
        let mut conn = rustls::ClientConnection::new(
            Arc::new(config),
            ServerName::try_from("workload").unwrap(),
        )
        .unwrap();
        let mut srv = rustls::ServerConnection::new(Arc::new(server_config.clone())).unwrap();
        // Drive the handshake in memory.
        for _ in 0..10 {
            let mut buf = Vec::new();
            conn.write_tls(&mut buf).unwrap();
            if !buf.is_empty() {
                srv.read_tls(&mut buf.as_slice()).unwrap();
                if let Err(e) = srv.process_new_packets() {
                    return Err(format!("server: {e}"));
                }
            }
            let mut back = Vec::new();
            srv.write_tls(&mut back).unwrap();
            if !back.is_empty() {
                conn.read_tls(&mut back.as_slice()).unwrap();
                if let Err(e) = conn.process_new_packets() {
                    return Err(format!("client: {e}"));
                }
            }
            if !conn.is_handshaking() && !srv.is_handshaking() {
                let peer = srv.peer_certificates().unwrap()[0].to_vec();
                return Ok(spiffe_id_of(&peer));
            }
        }
        Err("handshake did not finish".into())
    };
    // The server authorizes the client by SPIFFE ID too.
    assert_eq!(
        connect("spiffe://example.org/api").unwrap(),
        "spiffe://example.org/client"
    );
    let refused = connect("spiffe://example.org/someone-else").unwrap_err();
    assert!(refused.contains("client"), "{refused}");
}

/// An openssl `s_server` with `server`'s files and an `s_client` with `client`'s complete a
/// mutual TLS handshake; the server presents `server_id`.
pub(super) fn openssl_mtls(server: &Files, client: &Files, server_id: &str) {
    let (server_paths, client_paths) = (server.paths(), client.paths());
    use tessera_tests::openssl::MtlsSide;
    let text =
        tessera_tests::openssl::mtls(MtlsSide::of(&server_paths), MtlsSide::of(&client_paths));
    // The server certificate openssl verified carries the server's SPIFFE ID.
    let first_pem = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .unwrap();
    let der = base64_decode(first_pem);
    assert_eq!(spiffe_id_of(&der), server_id);
}

fn base64_decode(body: &str) -> Vec<u8> {
    use base64::Engine as _;
    let compact: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap()
}
