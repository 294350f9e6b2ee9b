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
    /// The tenant this surface serves ([`Self::for_tenant`]); `default` unless set.
    pub tenant: crate::datastore::TenantId,
    /// Prefix of this surface's paths as the router sees them: empty for the default
    /// tenant, `/t/<tenant>` for another (its pages link and post there).
    pub path_prefix: String,
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
            tenant: crate::datastore::TenantId::default_tenant(),
            path_prefix: String::new(),
        }
    }

    /// The same settings for `tenant`, an issuer of its own below this one:
    /// `<issuer>/t/<tenant>` (the default tenant keeps this issuer).
    pub fn for_tenant(&self, tenant: &crate::datastore::TenantId) -> Self {
        if tenant.is_default() {
            return self.clone();
        }
        let path_prefix = format!("/t/{tenant}");
        Self {
            issuer: format!("{}{path_prefix}", self.issuer),
            tenant: tenant.clone(),
            path_prefix,
            ..self.clone()
        }
    }

    /// `<issuer><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }
}
