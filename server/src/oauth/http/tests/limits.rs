//! Body limit, rate limit, and a real TCP round trip.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

use super::fakes::{
    FakeClients, FakeSigner, ISSUER, basic, call, client, form, harness, harness_with, issue, post,
    start_time,
};
use crate::oauth::http::{OAuthHttpConfig, OAuthServer};
use tessera_proto::clock::TokioClock;

#[tokio::test]
async fn oversize_body_is_413_json() {
    let h = harness();
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(70 * 1024)
    );
    let (status, _, body) = call(
        &h.router,
        post(
            "/oauth2/token",
            Some(&basic("svc", "s3cret:+&")),
            big.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "invalid_request");

    // Without a Content-Length (streamed body) the limit still holds.
    let chunks = futures_like_stream(big);
    let req = axum::http::Request::post("/oauth2/introspect")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("svc", "s3cret:+&"))
        .body(chunks)
        .unwrap();
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "invalid_request");
}

fn futures_like_stream(data: String) -> axum::body::Body {
    let parts: Vec<Result<Vec<u8>, std::io::Error>> = data
        .into_bytes()
        .chunks(4096)
        .map(|c| Ok(c.to_vec()))
        .collect();
    axum::body::Body::from_stream(tokio_stream::iter(parts))
}

#[tokio::test]
async fn per_client_rate_limit_answers_429_with_retry_after() {
    let mut config = OAuthHttpConfig::new(ISSUER);
    config.rate_per_second = 1;
    config.burst = 3;
    let h = harness_with(config);
    for _ in 0..3 {
        assert_eq!(issue(&h, &[]).await.0, StatusCode::OK);
    }
    let (status, headers, body) = issue(&h, &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(body["error"].is_string());

    // Another client has its own bucket.
    let other = post(
        "/oauth2/token",
        Some(&basic("other", "o")),
        form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(call(&h.router, other).await.0, StatusCode::OK);

    // Time refills the bucket.
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(issue(&h, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn serves_over_tcp_and_shuts_down() {
    let mut clients = FakeClients::default();
    clients
        .0
        .insert("svc".into(), ("pw".into(), client("svc", &["read"], &[])));
    let clock = Arc::new(TokioClock::starting_at(start_time()));
    let server = OAuthServer::new(
        OAuthHttpConfig::new(ISSUER),
        clients,
        FakeSigner::new(),
        Arc::new(crate::datastore::memory::MemoryStore::default()),
        clock,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(listener, shutdown.clone()));

    let body = form(&[("grant_type", "client_credentials")]);
    let request = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        basic("svc", "pw"),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("cache-control: no-store")
    );
    assert!(response.contains("\"token_type\":\"Bearer\""));

    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok());
}

/// A public client is used by many people: its requests are limited per client and source
/// address, so one caller cannot exhaust everyone's bucket.
#[tokio::test]
async fn a_public_client_has_a_bucket_per_source_address() {
    let mut config = OAuthHttpConfig::new(ISSUER);
    config.rate_per_second = 1;
    config.burst = 2;
    let h = super::code_support::code_harness_with(config);
    let from = |ip: [u8; 4]| {
        let mut req = post(
            "/oauth2/device_authorization",
            None,
            form(&[("client_id", "tv"), ("scope", "read")]),
        );
        let addr = std::net::SocketAddr::from((ip, 40_000));
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        req
    };
    for _ in 0..2 {
        assert_eq!(call(&h.router, from([10, 0, 0, 1])).await.0, StatusCode::OK);
    }
    let (status, _, _) = call(&h.router, from([10, 0, 0, 1])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = call(&h.router, from([10, 0, 0, 2])).await;
    assert_eq!(status, StatusCode::OK, "another user of the same app");
}

/// A body whose first chunk arrives and whose rest never does.
fn stalled_body(first: &str) -> axum::body::Body {
    let first: Result<Vec<u8>, std::io::Error> = Ok(first.as_bytes().to_vec());
    let stream =
        tokio_stream::StreamExt::chain(tokio_stream::iter([first]), tokio_stream::pending());
    axum::body::Body::from_stream(stream)
}

/// Issue 11 §12: a body trickled (or stalled) past the body deadline is refused with 408
/// `invalid_request`, at the token endpoint and on the browser forms.
#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_refused_after_the_body_deadline() {
    let h = harness();
    let req = axum::http::Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("svc", "s3cret:+&"))
        .body(stalled_body("grant_type=client_"))
        .unwrap();
    let started = tokio::time::Instant::now();
    let (status, _, body) = call(&h.router, req).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "the default deadline"
    );
}

/// Issue 11 §12: plain HTTP closes a connection whose request headers do not arrive within
/// the header read timeout (axum::serve had none: the connection stayed open).
#[tokio::test]
async fn plain_http_closes_a_connection_whose_headers_stall() {
    let clock = Arc::new(TokioClock::starting_at(start_time()));
    let mut config = OAuthHttpConfig::new(ISSUER);
    config.header_read_timeout = Duration::from_millis(300);
    let state = Arc::new(crate::datastore::memory::MemoryStore::default());
    let server = OAuthServer::new(
        config,
        FakeClients::default(),
        FakeSigner::new(),
        state,
        clock,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(listener, shutdown.clone()));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the server kept a connection with stalled headers open"
    );
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok());
}
