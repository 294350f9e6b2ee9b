//! Interop proof with the real Python clients (grpcio + `spiffe` from PyPI, at the versions of
//! `tests/interop/python/requirements.txt`): a tonic Workload API server on a Unix socket fails
//! them without [`AuthorityRewrite`] and serves them with it. The venv is the one `tests/run`
//! builds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use tessera_proto::wire::workload::spiffe_workload_api_server::{
    SpiffeWorkloadApi, SpiffeWorkloadApiServer,
};
use tessera_proto::wire::workload::{
    JwtBundlesRequest, JwtBundlesResponse, JwtsvidRequest, JwtsvidResponse, ValidateJwtsvidRequest,
    ValidateJwtsvidResponse, X509BundlesRequest, X509BundlesResponse, X509svidRequest,
    X509svidResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

use super::AuthorityRewrite;
use super::hpack::Decoder;
use super::rewriter::PREFACE;

/// A JWKS with one EC P-256 key (the curve's generator point as the public key).
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"jwt-svid","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}]}"#;

type Stream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// A tiny Workload API: JWT bundles and JWT validation; the rest is unimplemented.
struct TestApi;

fn check_metadata<T>(req: &Request<T>) -> Result<(), Status> {
    match req.metadata().get("workload.spiffe.io") {
        Some(v) if v == "true" => Ok(()),
        _ => Err(Status::invalid_argument(
            "missing workload.spiffe.io metadata",
        )),
    }
}

#[tonic::async_trait]
impl SpiffeWorkloadApi for TestApi {
    async fn fetch_jwtsvid(
        &self,
        _: Request<JwtsvidRequest>,
    ) -> Result<Response<JwtsvidResponse>, Status> {
        Err(Status::unimplemented("test"))
    }
    type FetchJWTBundlesStream = Stream<JwtBundlesResponse>;
    async fn fetch_jwt_bundles(
        &self,
        req: Request<JwtBundlesRequest>,
    ) -> Result<Response<Self::FetchJWTBundlesStream>, Status> {
        check_metadata(&req)?;
        let bundles = [("spiffe://example.org".to_string(), JWKS.as_bytes().to_vec())];
        let first = JwtBundlesResponse {
            bundles: bundles.into_iter().collect(),
        };
        let stream = tokio_stream::once(Ok(first)).chain(tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
    async fn validate_jwtsvid(
        &self,
        req: Request<ValidateJwtsvidRequest>,
    ) -> Result<Response<ValidateJwtsvidResponse>, Status> {
        check_metadata(&req)?;
        Ok(Response::new(ValidateJwtsvidResponse {
            spiffe_id: format!("spiffe://example.org/{}", req.get_ref().audience),
            claims: None,
        }))
    }
    type FetchX509SVIDStream = Stream<X509svidResponse>;
    async fn fetch_x509svid(
        &self,
        _: Request<X509svidRequest>,
    ) -> Result<Response<Self::FetchX509SVIDStream>, Status> {
        Err(Status::unimplemented("test"))
    }
    type FetchX509BundlesStream = Stream<X509BundlesResponse>;
    async fn fetch_x509_bundles(
        &self,
        _: Request<X509BundlesRequest>,
    ) -> Result<Response<Self::FetchX509BundlesStream>, Status> {
        Err(Status::unimplemented("test"))
    }
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python of the venv `tests/run` builds from `tests/interop/python/requirements.txt`
/// (`$TESSERA_PYTHON`, else `target/py-venv`). Without it the test fails: it never skips.
fn python() -> PathBuf {
    let python = std::env::var_os("TESSERA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_dir().join("target"))
                .join("py-venv/bin/python")
        });
    let usable = std::process::Command::new(&python)
        .args(["-c", "import grpc, spiffe"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        usable,
        "{} cannot import grpc and spiffe: run tests/run, which builds the venv from \
         tests/interop/python/requirements.txt (or set TESSERA_PYTHON)",
        python.display()
    );
    python
}

/// Serves [`TestApi`] on a fresh Unix socket (wrapped in the adapter or not); returns the
/// socket path, the temp dir keeping it alive and a shutdown sender.
fn serve(wrap: bool) -> (PathBuf, tempfile::TempDir, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = SpiffeWorkloadApiServer::new(TestApi);
    let router = tonic::transport::Server::builder().add_service(service);
    let incoming = UnixListenerStream::new(listener);
    let shutdown = async {
        let _ = rx.await;
    };
    if wrap {
        let incoming = incoming.map(|r| r.map(AuthorityRewrite::new));
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, shutdown));
    } else {
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, shutdown));
    }
    (path, dir, tx)
}

/// Runs the Python helper against `socket`: (success, its JSON line).
async fn run_python(python: &Path, socket: &Path) -> (bool, serde_json::Value) {
    let script = workspace_dir().join("tests/interop/python/workload_api_call.py");
    let child = tokio::process::Command::new(python)
        .arg(&script)
        .arg(socket)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("python client timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let json = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "python printed no JSON: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2fix_python_grpcio_fails_without_and_works_with_the_adapter() {
    let python = tokio::task::spawn_blocking(python).await.unwrap();

    let (socket, _dir, stop) = serve(false);
    let (ok, json) = run_python(&python, &socket).await;
    eprintln!("without the adapter: {json}");
    assert!(
        !ok,
        "plain tonic over UDS unexpectedly served grpcio: {json}"
    );
    let error = json["error"].as_str().unwrap_or_default();
    // Error code 1 is PROTOCOL_ERROR: h2 rejecting the percent-encoded `:authority`.
    assert!(
        error.contains("RST_STREAM with error code 1"),
        "expected h2's RST_STREAM(PROTOCOL_ERROR), got: {error}"
    );
    let _ = stop.send(());

    let (socket, _dir, stop) = serve(true);
    let (ok, json) = run_python(&python, &socket).await;
    eprintln!("with the adapter: {json}");
    assert!(ok, "grpcio failed through the adapter: {json}");
    assert_eq!(json["trust_domains"], serde_json::json!(["example.org"]));
    assert_eq!(json["validated_spiffe_id"], "spiffe://example.org/test");
    let _ = stop.send(());
}

/// Records what grpcio really sends: the first request's `:authority`, and whether it was
/// Huffman-coded (a plain literal shows up verbatim in the block).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2fix_observe_grpcio_authority() {
    let python = tokio::task::spawn_blocking(python).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let script = workspace_dir().join("tests/interop/python/workload_api_call.py");
    let _child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&socket)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .unwrap()
        .unwrap();
    conn.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let mut bytes = Vec::new();
    let block = loop {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "grpcio closed before sending HEADERS");
        bytes.extend_from_slice(&buf[..n]);
        if let Some(block) = first_header_block(&bytes) {
            break block;
        }
    };
    let fields = Decoder::new(4096).decode(&block, 1 << 20).unwrap();
    let authority = fields
        .iter()
        .find(|f| f.name == b":authority")
        .map(|f| f.value.clone())
        .unwrap();
    let at = block
        .windows(authority.len())
        .position(|w| w == authority.as_slice());
    let huffman = at.is_none();
    // Observed with grpcio 1.85.1: `40 0a ":authority" 1d "tmp%2F…%2Fagent.sock"` — a literal
    // with incremental indexing and a literal (not indexed) name, no Huffman coding.
    eprintln!(
        "grpcio :authority = {:?} (huffman-coded: {huffman}); socket {}; block: {:02x?}",
        String::from_utf8_lossy(&authority),
        socket.display(),
        block
    );
    assert!(http::uri::Authority::try_from(authority.as_slice()).is_err());
    assert!(authority.windows(3).any(|w| w == b"%2F"));
}

/// The first complete HEADERS block (fragments of HEADERS + CONTINUATION, no padding/priority
/// handling needed for grpcio) after the preface, if all of it has arrived.
fn first_header_block(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut rest = bytes.strip_prefix(PREFACE.as_slice())?;
    let mut block = Vec::new();
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        let payload = rest.get(9..9 + len)?;
        let (kind, flags) = (rest[3], rest[4]);
        if kind == 0x1 || kind == 0x9 {
            assert_eq!(flags & 0x28, 0, "grpcio sent PADDED/PRIORITY");
            block.extend_from_slice(payload);
            if flags & 0x4 != 0 {
                return Some(block);
            }
        }
        rest = &rest[9 + len..];
    }
    None
}

/// A Rust tonic/h2 client (valid `:authority`, Huffman and dynamic-table indexing, evictions
/// from large changing metadata) through the adapter: every request still arrives intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2fix_tonic_client_through_the_adapter() {
    use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;

    let (socket, _dir, stop) = serve(true);
    let channel = tonic::transport::Endpoint::try_from("http://[::]:50051")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .unwrap();
    let mut client = SpiffeWorkloadApiClient::new(channel);
    for i in 0..60u32 {
        let mut req = Request::new(ValidateJwtsvidRequest {
            audience: format!("aud{i}"),
            svid: "token".into(),
        });
        req.metadata_mut()
            .insert("workload.spiffe.io", "true".parse().unwrap());
        // 700-byte values that change every 3 requests: the client's table keeps evicting.
        let pad = format!("{:0>700}", i / 3);
        req.metadata_mut().insert("x-pad", pad.parse().unwrap());
        let resp = client.validate_jwtsvid(req).await.unwrap();
        assert_eq!(
            resp.get_ref().spiffe_id,
            format!("spiffe://example.org/aud{i}")
        );
    }
    // Without the metadata the server still sees the request as sent (no header invented).
    let err = client
        .validate_jwtsvid(ValidateJwtsvidRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let _ = stop.send(());
}
