//! Configuration of the OAuth HTTP surface.

use std::time::Duration;

/// Settings for [`super::OAuthServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthHttpConfig {
    /// The issuer URL (`iss`), without a trailing slash; endpoints hang below it.
    pub issuer: String,
    /// Default access-token lifetime (a client's own TTL takes precedence). Default 10 min.
    pub access_token_ttl: Duration,
    /// Largest accepted request body; larger bodies get `413`. Default 64 KiB.
    pub max_body_bytes: usize,
    /// Per-client sustained request rate; `0` disables rate limiting. Default 50.
    pub rate_per_second: u32,
    /// Per-client burst size. Default 100.
    pub burst: u32,
    /// A request body (token, introspection, revocation, device and browser forms) must
    /// arrive in full within this time after the handler starts reading it; else `408`.
    /// Default 10 s (`[oauth] body_read_timeout`).
    pub body_read_timeout: Duration,
    /// An HTTP/1 request's headers must arrive within this time after the connection is
    /// ready for them, on plain HTTP and TLS alike; else the connection is closed.
    /// Default 10 s (`[oauth] header_read_timeout`).
    pub header_read_timeout: Duration,
}

impl OAuthHttpConfig {
    /// The defaults for `issuer` (a trailing slash is removed).
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer: String = issuer.into();
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            access_token_ttl: Duration::from_secs(600),
            max_body_bytes: 64 * 1024,
            rate_per_second: 50,
            burst: 100,
            body_read_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
        }
    }

    /// `<issuer><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }
}
