//! `[federation]`: this server's SPIFFE bundle endpoint (off unless `bind_address` is set)
//! and how the bundles of federated trust domains are fetched.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_proto::duration::serde_str;

/// How the bundle endpoint authenticates itself (SPIFFE Trust Domain and Bundle §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointProfile {
    /// The server's own X.509-SVID (`spiffe://<td>/tessera/server`).
    #[default]
    HttpsSpiffe,
    /// A Web PKI certificate from `certificate_file` / `key_file`.
    HttpsWeb,
}

/// `[federation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSection {
    /// The bundle endpoint's address; no endpoint when unset.
    pub bind_address: Option<SocketAddr>,
    /// The bundle endpoint's profile.
    pub profile: EndpointProfile,
    /// `https_web`: the endpoint's certificate chain (PEM, leaf first).
    pub certificate_file: Option<PathBuf>,
    /// `https_web`: the endpoint's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `spiffe_refresh_hint` the endpoint serves; default: the bundle's own
    /// (`[ca] bundle_refresh_hint`).
    #[serde(with = "serde_str::option")]
    pub refresh_hint: Option<Duration>,
    /// Fetching `https_web` endpoints: trust these CA certificates (PEM) instead of the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// The shortest wait between two fetches of one relationship (a smaller refresh hint is
    /// raised to it; also the first retry delay after a failure).
    #[serde(with = "serde_str")]
    pub min_refresh: Duration,
    /// The longest wait between two fetches (a larger or missing hint is lowered to it; also
    /// the cap of the failure back-off).
    #[serde(with = "serde_str")]
    pub max_refresh: Duration,
}

impl Default for FederationSection {
    fn default() -> Self {
        Self {
            bind_address: None,
            profile: EndpointProfile::default(),
            certificate_file: None,
            key_file: None,
            refresh_hint: None,
            ca_file: None,
            min_refresh: Duration::from_secs(10),
            max_refresh: Duration::from_secs(3600),
        }
    }
}

impl FederationSection {
    /// Checks the combination of keys.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.min_refresh < Duration::from_secs(1) {
            return Err(("federation.min_refresh", "must be at least 1s".into()));
        }
        if self.max_refresh < self.min_refresh {
            return Err((
                "federation.max_refresh",
                "must not be shorter than federation.min_refresh".into(),
            ));
        }
        if let Some(hint) = self.refresh_hint
            && hint < Duration::from_secs(1)
        {
            return Err(("federation.refresh_hint", "must be at least 1s".into()));
        }
        let files = self.certificate_file.is_some() || self.key_file.is_some();
        match self.profile {
            EndpointProfile::HttpsWeb => {
                if self.certificate_file.is_none() {
                    return Err((
                        "federation.certificate_file",
                        "required with profile = \"https_web\"".into(),
                    ));
                }
                if self.key_file.is_none() {
                    return Err((
                        "federation.key_file",
                        "required with profile = \"https_web\"".into(),
                    ));
                }
            }
            EndpointProfile::HttpsSpiffe if files => {
                return Err((
                    "federation.certificate_file",
                    "only with profile = \"https_web\" (https_spiffe serves the server's SVID)"
                        .into(),
                ));
            }
            EndpointProfile::HttpsSpiffe => {}
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::Path;

    use crate::config::ServerConfig;

    fn check(extra: &str) -> Result<ServerConfig, String> {
        ServerConfig::parse(
            &format!("trust_domain = \"a.example\"\n[federation]\n{extra}"),
            Path::new("server.toml"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_off_with_bounded_refresh() {
        let c = check("").unwrap();
        assert!(c.federation.bind_address.is_none());
        assert_eq!(c.federation.min_refresh.as_secs(), 10);
        assert_eq!(c.federation.max_refresh.as_secs(), 3600);
    }

    #[test]
    fn profiles_need_their_keys() {
        let web = check("bind_address = \"127.0.0.1:0\"\nprofile = \"https_web\"\n").unwrap_err();
        assert!(web.contains("federation.certificate_file"), "{web}");
        let spiffe = check("certificate_file = \"c.pem\"\n").unwrap_err();
        assert!(spiffe.contains("only with profile"), "{spiffe}");
        let ok = check(
            "profile = \"https_web\"\ncertificate_file = \"c.pem\"\nkey_file = \"k.pem\"\nrefresh_hint = \"5s\"\n",
        )
        .unwrap();
        assert_eq!(ok.federation.refresh_hint.unwrap().as_secs(), 5);
        let bad = check("min_refresh = \"1m\"\nmax_refresh = \"10s\"\n").unwrap_err();
        assert!(bad.contains("federation.max_refresh"), "{bad}");
        let unknown = check("profile = \"http\"\n").unwrap_err();
        assert!(unknown.contains("profile"), "{unknown}");
    }
}
