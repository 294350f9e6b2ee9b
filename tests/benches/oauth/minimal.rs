//! The floor peer: the least an ES256 token endpoint on Tessera's stack (tokio, hyper,
//! aws-lc-rs) does per `client_credentials` request — compare the Authorization header
//! with one string, read the body, sign a JWT access token with a fresh `jti`, answer its
//! JSON. No client store, no rate limit, no log, no metrics, no routing. Measured with the
//! same load generator on the same cores, it is the most any issuer built this way reaches
//! on this machine: the ceiling next to which Tessera's rate is read.
//!
//! It runs as a separate process, as Tessera and oidc-provider do: the bench binary
//! started again with [`ENV`] set (see [`serve_if_asked`]).

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tessera_tests::free_port;
use tessera_tests::guard::{self, Spawned};
use tokio::net::TcpListener;

/// Set (to the port) in the process that serves; [`AUTHORIZATION`] and [`BODY`] with it.
const ENV: &str = "TESSERA_BENCH_MINIMAL_TOKEN_ENDPOINT";
/// The one `Authorization` value accepted.
const AUTHORIZATION: &str = "TESSERA_BENCH_MINIMAL_AUTHORIZATION";
/// The one form body accepted.
const BODY: &str = "TESSERA_BENCH_MINIMAL_BODY";
const RESOURCE: &str = "https://api.example.org";
const TTL_SECONDS: u64 = 600;

/// What every request is checked against, and the key it is answered with.
struct Endpoint {
    authorization: Vec<u8>,
    body: Bytes,
    issuer: String,
    /// The JOSE header, base64url, with its trailing `.`.
    header: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Endpoint {
    fn token(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).unwrap();
        let claims = format!(
            r#"{{"iss":"{}","sub":"bench","aud":"{RESOURCE}","exp":{},"iat":{now},"jti":"{}","client_id":"bench","scope":"read"}}"#,
            self.issuer,
            now + TTL_SECONDS,
            URL_SAFE_NO_PAD.encode(jti),
        );
        let mut token = self.header.clone();
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = self.key.sign(&self.rng, token.as_bytes()).unwrap();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        token
    }

    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let authorized = request
            .headers()
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == self.authorization.as_slice());
        let body = match request.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let (status, json) = if !authorized {
            (
                StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_client"}"#.into(),
            )
        } else if body != self.body {
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request"}"#.into(),
            )
        } else {
            let json = format!(
                r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{TTL_SECONDS},"scope":"read"}}"#,
                self.token()
            );
            (StatusCode::OK, json)
        };
        let mut response = Response::new(Full::new(Bytes::from(json)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        let json_type = HeaderValue::from_static("application/json");
        headers.insert(header::CONTENT_TYPE, json_type);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        Ok(response)
    }
}

/// When this process was started by [`start`], serves until it is killed (never returns);
/// otherwise returns at once.
pub fn serve_if_asked() {
    let Ok(port) = std::env::var(ENV) else {
        return;
    };
    let port: u16 = port.parse().unwrap();
    let authorization = std::env::var(AUTHORIZATION).unwrap();
    let body = std::env::var(BODY).unwrap();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let mut header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"minimal"}"#);
    header.push('.');
    let endpoint = Arc::new(Endpoint {
        authorization: authorization.into_bytes(),
        body: Bytes::from(body),
        issuer: format!("http://127.0.0.1:{port}"),
        header,
        key,
        rng,
    });
    // One worker per core, as `tessera-server` runs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        println!("listening");
        std::io::stdout().flush().unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let endpoint = Arc::clone(&endpoint);
            tokio::spawn(async move {
                let service = service_fn(move |r| Arc::clone(&endpoint).answer(r));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    std::process::exit(0);
}

/// The minimal endpoint as a process (stopped on drop), accepting `authorization` and the
/// form `body`; returns it and its address.
pub fn start(authorization: &str, body: &str) -> (Spawned, SocketAddr) {
    let port = free_port();
    let mut child = guard::spawn(
        Command::new(std::env::current_exe().unwrap())
            .env(ENV, port.to_string())
            .env(AUTHORIZATION, authorization)
            .env(BODY, body)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    super::wait_listening(&mut child, "the minimal endpoint");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}
