//! One `GET` of a bundle endpoint over TLS (HTTP/1.1, hyper), with a deadline and a size
//! cap, returning the body and the certificate chain the endpoint presented.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::FetchError;
use super::relationship::EndpointUrl;

/// Largest bundle document accepted (as `bundle set`).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// How long one fetch (connect, handshake, request, body) may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// What an endpoint answered.
#[derive(Debug)]
pub struct Fetched {
    /// The response body (at most [`MAX_DOCUMENT_BYTES`]).
    pub body: Bytes,
    /// The endpoint's certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// `GET endpoint` with `config`; only `200` with a body within the cap is an answer.
pub async fn get(endpoint: &EndpointUrl, config: ClientConfig) -> Result<Fetched, FetchError> {
    tokio::time::timeout(FETCH_TIMEOUT, get_inner(endpoint, config))
        .await
        .map_err(|_| FetchError::Timeout(FETCH_TIMEOUT))?
}

async fn get_inner(endpoint: &EndpointUrl, config: ClientConfig) -> Result<Fetched, FetchError> {
    let name = ServerName::try_from(endpoint.host.clone())
        .map_err(|_| FetchError::Connect(format!("{:?} is not a host name", endpoint.host)))?;
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| FetchError::Connect(format!("{}:{}: {e}", endpoint.host, endpoint.port)))?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    let chain: Vec<CertificateDer<'static>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let authority = if endpoint.port == 443 {
        endpoint.host.clone()
    } else if endpoint.host.contains(':') {
        format!("[{}]:{}", endpoint.host, endpoint.port)
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    };
    let request = http::Request::get(endpoint.path_and_query.as_str())
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let status = response.status();
    if status != http::StatusCode::OK {
        driver.abort();
        return Err(FetchError::Status(status.as_u16()));
    }
    let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
        .collect()
        .await
        .map_err(|_| FetchError::TooLarge(MAX_DOCUMENT_BYTES))?
        .to_bytes();
    driver.abort();
    Ok(Fetched { body, chain })
}
