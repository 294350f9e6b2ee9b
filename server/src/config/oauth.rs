//! `[oauth]`: the OAuth 2.0 authorization server (off when the section is absent).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::serde_str;

/// `[oauth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSection {
    /// Where the OAuth endpoints listen. Plain HTTP is served on loopback only.
    pub bind_address: SocketAddr,
    /// The issuer URL (`iss` of every token; base of the endpoints in discovery).
    pub issuer: String,
    /// Default access token lifetime.
    #[serde(default = "default_access_token_ttl", with = "serde_str")]
    pub access_token_ttl: Duration,
    /// A refresh token expires this long after it was issued unless used (and so rotated).
    #[serde(default = "default_refresh_token_idle_ttl", with = "serde_str")]
    pub refresh_token_idle_ttl: Duration,
    /// A grant's refresh tokens stop working this long after the user signed in, however
    /// often they are used. At least `refresh_token_idle_ttl`.
    #[serde(default = "default_refresh_token_absolute_ttl", with = "serde_str")]
    pub refresh_token_absolute_ttl: Duration,
    /// Sustained requests per second per client at the token, introspection and revocation
    /// endpoints (`0` disables the limit). Beyond it: `429` with `Retry-After`.
    #[serde(default = "default_rate_limit_per_second")]
    pub rate_limit_per_second: u32,
    /// Burst allowance per client on top of the sustained rate.
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// A request body must arrive in full within this time (else `408`).
    #[serde(default = "default_read_timeout", with = "serde_str")]
    pub body_read_timeout: Duration,
    /// HTTP/1 request headers must arrive within this time (else the connection closes).
    #[serde(default = "default_read_timeout", with = "serde_str")]
    pub header_read_timeout: Duration,
    /// `[oauth.token_exchange]`: RFC 8693 clusters and policies (absent: every exchange is
    /// denied).
    #[serde(default)]
    pub token_exchange: super::TokenExchangeSection,
    // ---- TLS (see `oauth_tls.rs`): certificate files, or the server's own X.509-SVID.
    /// PEM certificate chain (leaf first) for HTTPS; requires `tls_key_file`.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1) of `tls_cert_file`'s leaf.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Serve HTTPS with the server's own X.509-SVID (renewed automatically), with the
    /// issuer URL's host as a DNS (or IP) SAN. Exclusive with `tls_cert_file`.
    #[serde(default)]
    pub serve_svid: bool,
    // ---- Browser sign-in (`/oauth2/authorize`, login, consent): sessions live in memory.
    /// A browser session unused this long ends.
    #[serde(default = "default_session_idle_ttl", with = "serde_str")]
    pub session_idle_ttl: Duration,
    /// A browser session ends this long after sign-in, used or not.
    #[serde(default = "default_session_absolute_ttl", with = "serde_str")]
    pub session_absolute_ttl: Duration,
}

fn default_session_idle_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_session_absolute_ttl() -> Duration {
    Duration::from_secs(12 * 3600)
}

fn default_read_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_rate_limit_per_second() -> u32 {
    50
}

fn default_rate_limit_burst() -> u32 {
    100
}

fn default_refresh_token_idle_ttl() -> Duration {
    Duration::from_secs(14 * 86_400)
}

fn default_refresh_token_absolute_ttl() -> Duration {
    Duration::from_secs(90 * 86_400)
}

fn default_access_token_ttl() -> Duration {
    Duration::from_secs(600)
}

impl OAuthSection {
    /// Checks the values; returns the offending key and why.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        self.token_exchange.validate()?;
        let issuer = &self.issuer;
        let ok = (issuer.starts_with("https://") || issuer.starts_with("http://"))
            && !issuer.contains('?')
            && !issuer.contains('#')
            && !issuer.ends_with('/');
        if !ok {
            return Err((
                "oauth.issuer".into(),
                format!(
                    "{issuer:?} must be an http(s) URL without query, fragment or trailing slash"
                ),
            ));
        }
        for (key, value) in [
            ("oauth.body_read_timeout", self.body_read_timeout),
            ("oauth.header_read_timeout", self.header_read_timeout),
        ] {
            if value < Duration::from_secs(1) {
                return Err((key.into(), "must be at least 1s".into()));
            }
        }
        if self.access_token_ttl < Duration::from_secs(1) {
            return Err((
                "oauth.access_token_ttl".into(),
                "must be at least 1s".into(),
            ));
        }
        if self.refresh_token_idle_ttl < Duration::from_secs(1) {
            return Err((
                "oauth.refresh_token_idle_ttl".into(),
                "must be at least 1s".into(),
            ));
        }
        if self.refresh_token_idle_ttl > self.refresh_token_absolute_ttl {
            return Err((
                "oauth.refresh_token_idle_ttl".into(),
                "must not exceed oauth.refresh_token_absolute_ttl".into(),
            ));
        }
        if self.session_idle_ttl < Duration::from_secs(60)
            || self.session_absolute_ttl < self.session_idle_ttl
        {
            return Err((
                "oauth.session_idle_ttl".into(),
                "must be at least 1m and at most session_absolute_ttl".into(),
            ));
        }
        self.validate_tls()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::ServerConfig;

    fn parse(extra: &str) -> Result<ServerConfig, String> {
        let text = format!(
            "trust_domain = \"example.org\"\n[oauth]\nbind_address = \"127.0.0.1:9443\"\nissuer = \"http://127.0.0.1:9443\"\n{extra}"
        );
        ServerConfig::parse(&text, Path::new("server.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn browser_session_lifetimes() {
        let c = parse("").unwrap();
        let o = c.oauth.unwrap();
        assert_eq!(o.session_idle_ttl, Duration::from_secs(3600));
        assert_eq!(o.session_absolute_ttl, Duration::from_secs(12 * 3600));
        let c = parse("session_idle_ttl = \"15m\"\nsession_absolute_ttl = \"8h\"\n").unwrap();
        assert_eq!(c.oauth.unwrap().session_idle_ttl, Duration::from_secs(900));
        let e = parse("session_idle_ttl = \"2h\"\nsession_absolute_ttl = \"1h\"\n").unwrap_err();
        assert!(e.contains("session_idle_ttl"), "{e}");
        assert!(parse("session_idle_ttl = \"10s\"\n").is_err());
    }

    #[test]
    fn refresh_token_lifetimes_default_parse_and_are_ordered() {
        let d = parse("").unwrap().oauth.unwrap();
        assert_eq!(d.refresh_token_idle_ttl, Duration::from_secs(14 * 86_400));
        assert_eq!(
            d.refresh_token_absolute_ttl,
            Duration::from_secs(90 * 86_400)
        );
        let c = parse("refresh_token_idle_ttl = \"1h\"\nrefresh_token_absolute_ttl = \"2d\"\n")
            .unwrap()
            .oauth
            .unwrap();
        assert_eq!(c.refresh_token_idle_ttl, Duration::from_secs(3600));
        assert_eq!(
            c.refresh_token_absolute_ttl,
            Duration::from_secs(2 * 86_400)
        );
        let e = parse("refresh_token_idle_ttl = \"100d\"\n").unwrap_err();
        assert!(e.contains("oauth.refresh_token_idle_ttl"), "{e}");
        let e = parse("refresh_token_absolute_ttl = \"forever\"\n").unwrap_err();
        assert!(e.contains("refresh_token_absolute_ttl"), "{e}");
    }
}
