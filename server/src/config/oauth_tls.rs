//! `[oauth]` TLS keys: which transport the OAuth server uses, and the checks tying it to
//! `bind_address` and the issuer URL.

use std::net::IpAddr;
use std::path::PathBuf;

use super::OAuthSection;

/// The OAuth server's transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthTls {
    /// Plain HTTP (loopback only).
    None,
    /// A certificate chain and key read from PEM files at start.
    Files {
        /// `tls_cert_file`.
        cert: PathBuf,
        /// `tls_key_file`.
        key: PathBuf,
    },
    /// The server's own X.509-SVID, with the issuer's host as a SAN.
    Svid(IssuerHost),
}

/// The host part of the issuer URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerHost {
    /// A DNS name (lowercased).
    Dns(String),
    /// An IP address literal.
    Ip(IpAddr),
}

impl IssuerHost {
    /// The host of `issuer` (`scheme://host[:port][/path]`), if it has a valid one.
    pub fn of(issuer: &str) -> Option<Self> {
        let rest = issuer
            .strip_prefix("https://")
            .or_else(|| issuer.strip_prefix("http://"))?;
        let authority = rest.split('/').next()?;
        if authority.contains('@') {
            return None;
        }
        if let Some(v6) = authority.strip_prefix('[') {
            let (ip, after) = v6.split_once(']')?;
            if !(after.is_empty() || valid_port(after.strip_prefix(':')?)) {
                return None;
            }
            return ip.parse().ok().map(Self::Ip);
        }
        let host = match authority.split_once(':') {
            Some((host, port)) if valid_port(port) => host,
            Some(_) => return None,
            None => authority,
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(Self::Ip(ip));
        }
        let ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        ok.then(|| Self::Dns(host.to_ascii_lowercase()))
    }
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.parse::<u16>().is_ok()
}

impl OAuthSection {
    /// The configured transport (call after validation).
    pub fn tls(&self) -> OAuthTls {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => OAuthTls::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => match IssuerHost::of(&self.issuer) {
                Some(host) if self.serve_svid => OAuthTls::Svid(host),
                _ => OAuthTls::None,
            },
        }
    }

    /// TLS keys are complete and exclusive; plain HTTP only on loopback; the issuer is
    /// `https://` exactly when TLS is on (or behind a TLS-terminating proxy on loopback).
    pub(super) fn validate_tls(&self) -> Result<(), (String, String)> {
        let files = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), Some(_)) => true,
            (None, None) => false,
            (Some(_), None) => {
                return Err((
                    "oauth.tls_key_file".into(),
                    "is required with oauth.tls_cert_file".into(),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "oauth.tls_cert_file".into(),
                    "is required with oauth.tls_key_file".into(),
                ));
            }
        };
        if files && self.serve_svid {
            return Err((
                "oauth.serve_svid".into(),
                "cannot be combined with oauth.tls_cert_file / oauth.tls_key_file".into(),
            ));
        }
        let tls = files || self.serve_svid;
        if tls && !self.issuer.starts_with("https://") {
            return Err((
                "oauth.issuer".into(),
                format!("{:?} must be an https:// URL when TLS is on", self.issuer),
            ));
        }
        if self.serve_svid && IssuerHost::of(&self.issuer).is_none() {
            return Err((
                "oauth.issuer".into(),
                format!(
                    "{:?} has no DNS name or IP address to put in the server SVID",
                    self.issuer
                ),
            ));
        }
        if !tls && !self.bind_address.ip().is_loopback() {
            return Err((
                "oauth.bind_address".into(),
                format!(
                    "{} is not a loopback address: plain HTTP is served on loopback only; \
                     set oauth.tls_cert_file + oauth.tls_key_file or oauth.serve_svid = true",
                    self.bind_address
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::ServerConfig;

    fn parse(oauth: &str) -> Result<ServerConfig, String> {
        let text = format!("trust_domain = \"example.org\"\n[oauth]\n{oauth}");
        ServerConfig::parse(&text, Path::new("server.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn issuer_hosts() {
        let dns = |s: &str| Some(IssuerHost::Dns(s.into()));
        assert_eq!(
            IssuerHost::of("https://Auth.Example.org"),
            dns("auth.example.org")
        );
        assert_eq!(
            IssuerHost::of("https://localhost:8443/t1"),
            dns("localhost")
        );
        assert_eq!(
            IssuerHost::of("https://127.0.0.1:8443"),
            Some(IssuerHost::Ip("127.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            IssuerHost::of("https://[::1]:8443/x"),
            Some(IssuerHost::Ip("::1".parse().unwrap()))
        );
        for bad in [
            "https://",
            "https://user@host",
            "https://host:port",
            "https://[::1",
            "https://a..b",
            "ftp://host",
        ] {
            assert_eq!(IssuerHost::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let e = parse("bind_address = \"0.0.0.0:8443\"\nissuer = \"http://auth.example.org\"\n")
            .unwrap_err();
        assert!(e.contains("oauth.bind_address"), "{e}");
        let ok = parse("bind_address = \"127.0.0.1:8443\"\nissuer = \"http://127.0.0.1:8443\"\n")
            .unwrap();
        assert_eq!(ok.oauth.unwrap().tls(), OAuthTls::None);
    }

    #[test]
    fn tls_allows_any_address_and_needs_https() {
        let svid = parse(
            "bind_address = \"0.0.0.0:8443\"\nissuer = \"https://auth.example.org:8443\"\nserve_svid = true\n",
        )
        .unwrap();
        assert_eq!(
            svid.oauth.unwrap().tls(),
            OAuthTls::Svid(IssuerHost::Dns("auth.example.org".into()))
        );
        let files = parse(
            "bind_address = \"0.0.0.0:8443\"\nissuer = \"https://a.example\"\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\n",
        )
        .unwrap();
        assert!(matches!(files.oauth.unwrap().tls(), OAuthTls::Files { .. }));
        let e = parse(
            "bind_address = \"0.0.0.0:8443\"\nissuer = \"http://a.example\"\nserve_svid = true\n",
        )
        .unwrap_err();
        assert!(e.contains("oauth.issuer") && e.contains("https://"), "{e}");
    }

    #[test]
    fn tls_keys_must_be_complete_and_exclusive() {
        let base = "bind_address = \"127.0.0.1:8443\"\nissuer = \"https://a.example\"\n";
        let e = parse(&format!("{base}tls_cert_file = \"c.pem\"\n")).unwrap_err();
        assert!(e.contains("oauth.tls_key_file"), "{e}");
        let e = parse(&format!("{base}tls_key_file = \"k.pem\"\n")).unwrap_err();
        assert!(e.contains("oauth.tls_cert_file"), "{e}");
        let e = parse(&format!(
            "{base}tls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\nserve_svid = true\n"
        ))
        .unwrap_err();
        assert!(e.contains("oauth.serve_svid"), "{e}");
    }
}
