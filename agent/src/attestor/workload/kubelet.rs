//! `GET /pods` from the kubelet: a minimal HTTP/1.1 client over TCP, or TLS via
//! tokio-rustls, with a bearer token read fresh for every request (the kubelet rotates
//! projected tokens). Bounded in time and size; the token never reaches a log or an error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

use super::http::{HttpError, Url, is_complete, parse_response};
use super::pods::PodList;

/// Bound on connect + request + response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the response size (a large node's pod list is a few MiB).
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// Why the pod list could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// Connecting, TLS, reading or writing failed, or it took too long.
    #[error("kubelet {url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The kubelet answered, but not with a pod list.
    #[error("kubelet {url}: {message}")]
    Response {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The service-account token could not be read.
    #[error("cannot read the service-account token {path}: {message}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A kubelet `/pods` client.
#[derive(Clone)]
pub struct KubeletClient {
    url: Url,
    tls: Option<Arc<ClientConfig>>,
    token_path: Option<PathBuf>,
}

impl std::fmt::Debug for KubeletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeletClient")
            .field("url", &self.url.to_string())
            .field("tls", &self.tls.is_some())
            .field("token_path", &self.token_path)
            .finish()
    }
}

impl KubeletClient {
    /// A client for base URL `url`: `https` needs `tls`; `token_path` (a bearer token
    /// file) is sent when set.
    pub fn new(
        url: &str,
        tls: Option<Arc<ClientConfig>>,
        token_path: Option<PathBuf>,
    ) -> Result<Self, String> {
        let url = Url::parse(url)?;
        if url.https && tls.is_none() {
            return Err(format!("{url}: https needs a TLS configuration"));
        }
        Ok(Self {
            url,
            tls,
            token_path,
        })
    }

    /// The kubelet's pod list.
    pub async fn pods(&self) -> Result<PodList, KubeletError> {
        let url = self.url.to_string();
        let body = tokio::time::timeout(REQUEST_TIMEOUT, self.get_pods())
            .await
            .map_err(|_| KubeletError::Transport {
                url: url.clone(),
                message: format!("no answer within {REQUEST_TIMEOUT:?}"),
            })??;
        serde_json::from_slice(&body).map_err(|e| KubeletError::Response {
            url,
            message: format!("not a PodList: {e}"),
        })
    }

    async fn get_pods(&self) -> Result<Vec<u8>, KubeletError> {
        let url = self.url.to_string();
        let transport = |e: std::io::Error| KubeletError::Transport {
            url: url.clone(),
            message: e.to_string(),
        };
        let request = self.request()?;
        let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(transport)?;
        let raw = match &self.tls {
            Some(tls) if self.url.https => {
                let name = ServerName::try_from(self.url.host.clone()).map_err(|e| {
                    KubeletError::Transport {
                        url: url.clone(),
                        message: format!("bad TLS server name: {e}"),
                    }
                })?;
                let stream = TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(transport)?;
                exchange(stream, &request).await
            }
            _ => exchange(tcp, &request).await,
        }
        .map_err(transport)?;
        parse_response(&raw).map_err(|e| match e {
            HttpError::Status(code, text) => KubeletError::Response {
                url: url.clone(),
                message: format!("status {code}: {text}"),
            },
            HttpError::Malformed(message) => KubeletError::Response {
                url: url.clone(),
                message,
            },
        })
    }

    /// The request bytes (zeroized: they hold the token).
    fn request(&self) -> Result<Zeroizing<Vec<u8>>, KubeletError> {
        let mut req = Zeroizing::new(Vec::with_capacity(1024));
        req.extend_from_slice(
            format!(
                "GET {}/pods HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
                 User-Agent: tessera-agent\r\nConnection: close\r\n",
                self.url.path_prefix,
                self.url.host_header()
            )
            .as_bytes(),
        );
        if let Some(path) = &self.token_path {
            let token = std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|e| KubeletError::Token {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            let token = token.trim();
            if token.is_empty() || token.contains(['\r', '\n']) {
                return Err(KubeletError::Token {
                    path: path.clone(),
                    message: "empty or malformed".into(),
                });
            }
            req.extend_from_slice(b"Authorization: Bearer ");
            req.extend_from_slice(token.as_bytes());
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"\r\n");
        Ok(req)
    }
}

/// Writes `request` and reads the whole response: until it is complete or the server
/// closes (`Connection: close`), at most `MAX_RESPONSE` bytes.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> std::io::Result<Vec<u8>> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // Servers often close TLS without close_notify; what was read is still whole
            // if it parses (framing is checked against Content-Length / chunking).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        if raw.len() as u64 > MAX_RESPONSE || is_complete(&raw) {
            break;
        }
    }
    if raw.len() as u64 > MAX_RESPONSE {
        return Err(std::io::Error::other(format!(
            "response larger than {MAX_RESPONSE} bytes"
        )));
    }
    Ok(raw)
}

#[cfg(test)]
#[path = "kubelet_tests.rs"]
pub(crate) mod tests;
