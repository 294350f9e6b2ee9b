//! A federation relationship, checked: the trust domain, where its bundle endpoint is and
//! how the endpoint authenticates (SPIFFE Trust Domain and Bundle §5.2).

use std::fmt;

use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::admin::v1::FederationRelationship;

/// Profile names on the wire and in the CLI.
pub const HTTPS_WEB: &str = "https_web";
/// See [`HTTPS_WEB`].
pub const HTTPS_SPIFFE: &str = "https_spiffe";

/// How the fetcher authenticates the bundle endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// A Web PKI server certificate for the URL's host (system roots or
    /// `[federation] ca_file`).
    HttpsWeb,
    /// An X.509-SVID with this SPIFFE ID, chaining to the bundle held for the relationship's
    /// trust domain.
    HttpsSpiffe {
        /// The SPIFFE ID the endpoint must present.
        endpoint_id: SpiffeId,
    },
}

/// Where the bundle endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    /// The URL as given.
    pub url: String,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Port (443 when the URL names none).
    pub port: u16,
    /// Path and query to request (`/` at least).
    pub path_and_query: String,
}

/// A checked relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The other trust domain.
    pub trust_domain: TrustDomain,
    /// Its bundle endpoint.
    pub endpoint: EndpointUrl,
    /// How the endpoint is authenticated.
    pub profile: Profile,
}

/// Why a relationship was refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelationshipError {
    /// The trust domain is not one.
    #[error("trust_domain {value:?}: {reason}")]
    TrustDomain {
        /// As given (truncated).
        value: String,
        /// Why.
        reason: String,
    },
    /// The URL is not `https://host[:port][/path]`.
    #[error("bundle_endpoint_url {value:?}: {reason}")]
    Url {
        /// As given (truncated).
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The profile is neither `https_web` nor `https_spiffe`.
    #[error("bundle_endpoint_profile {value:?}: must be https_web or https_spiffe")]
    Profile {
        /// As given (truncated).
        value: String,
    },
    /// `https_spiffe` without an endpoint SPIFFE ID, or a bad one.
    #[error("endpoint_spiffe_id {value:?}: {reason}")]
    EndpointId {
        /// As given (truncated).
        value: String,
        /// Why.
        reason: String,
    },
}

/// At most 128 characters of `s`, for messages.
pub(crate) fn cut(s: &str) -> String {
    s.chars().take(128).collect()
}

impl EndpointUrl {
    /// Parses `https://host[:port][/path][?query]`; no user info, no fragment.
    pub fn parse(url: &str) -> Result<Self, RelationshipError> {
        let fail = |reason| RelationshipError::Url {
            value: cut(url),
            reason,
        };
        if url.len() > 2048 {
            return Err(fail("longer than 2048 bytes"));
        }
        let uri: http::Uri = url.parse().map_err(|_| fail("not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(fail("the scheme must be https"));
        }
        if url.contains('#') {
            return Err(fail("a fragment is not allowed"));
        }
        let authority = uri.authority().ok_or_else(|| fail("no host"))?;
        if authority.as_str().contains('@') {
            return Err(fail("user info is not allowed"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(fail("no host"));
        }
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        Ok(Self {
            url: url.to_string(),
            host,
            port: authority.port_u16().unwrap_or(443),
            path_and_query: if path_and_query.is_empty() {
                "/".into()
            } else {
                path_and_query
            },
        })
    }
}

impl Relationship {
    /// Checks a wire relationship. For `https_spiffe` the endpoint's SPIFFE ID must belong
    /// to the relationship's trust domain: its SVID is verified with that trust domain's
    /// bundle.
    pub fn from_wire(wire: &FederationRelationship) -> Result<Self, RelationshipError> {
        let trust_domain = TrustDomain::from_id_or_name(&wire.trust_domain).map_err(|e| {
            RelationshipError::TrustDomain {
                value: cut(&wire.trust_domain),
                reason: e.to_string(),
            }
        })?;
        let endpoint = EndpointUrl::parse(&wire.bundle_endpoint_url)?;
        let id_error = |reason: String| RelationshipError::EndpointId {
            value: cut(&wire.endpoint_spiffe_id),
            reason,
        };
        let profile = match wire.bundle_endpoint_profile.as_str() {
            HTTPS_WEB => {
                if !wire.endpoint_spiffe_id.is_empty() {
                    return Err(id_error("only with the https_spiffe profile".into()));
                }
                Profile::HttpsWeb
            }
            HTTPS_SPIFFE => {
                if wire.endpoint_spiffe_id.is_empty() {
                    return Err(id_error("required with the https_spiffe profile".into()));
                }
                let endpoint_id = SpiffeId::parse(&wire.endpoint_spiffe_id)
                    .map_err(|e| id_error(e.to_string()))?;
                if !endpoint_id.is_member_of(&trust_domain) {
                    return Err(id_error(format!("must be an ID of {trust_domain}")));
                }
                Profile::HttpsSpiffe { endpoint_id }
            }
            other => {
                return Err(RelationshipError::Profile { value: cut(other) });
            }
        };
        Ok(Self {
            trust_domain,
            endpoint,
            profile,
        })
    }

    /// The canonical wire form.
    pub fn to_wire(&self) -> FederationRelationship {
        let (profile, endpoint_spiffe_id) = match &self.profile {
            Profile::HttpsWeb => (HTTPS_WEB, String::new()),
            Profile::HttpsSpiffe { endpoint_id } => (HTTPS_SPIFFE, endpoint_id.to_string()),
        };
        FederationRelationship {
            trust_domain: self.trust_domain.to_string(),
            bundle_endpoint_url: self.endpoint.url.clone(),
            bundle_endpoint_profile: profile.into(),
            endpoint_spiffe_id,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HttpsWeb => f.write_str(HTTPS_WEB),
            Self::HttpsSpiffe { .. } => f.write_str(HTTPS_SPIFFE),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn wire(td: &str, url: &str, profile: &str, id: &str) -> FederationRelationship {
        FederationRelationship {
            trust_domain: td.into(),
            bundle_endpoint_url: url.into(),
            bundle_endpoint_profile: profile.into(),
            endpoint_spiffe_id: id.into(),
        }
    }

    #[test]
    fn a_good_relationship_is_canonical() {
        let r = Relationship::from_wire(&wire(
            "spiffe://b.example",
            "https://127.0.0.1:8443",
            "https_spiffe",
            "spiffe://b.example/tessera/server",
        ))
        .unwrap();
        assert_eq!(r.trust_domain.as_str(), "b.example");
        assert_eq!(r.endpoint.host, "127.0.0.1");
        assert_eq!(r.endpoint.port, 8443);
        assert_eq!(r.endpoint.path_and_query, "/");
        assert_eq!(r.to_wire().trust_domain, "b.example");
        let web = Relationship::from_wire(&wire(
            "b.example",
            "https://[::1]/bundle?x=1",
            "https_web",
            "",
        ))
        .unwrap();
        assert_eq!(web.endpoint.host, "::1");
        assert_eq!(web.endpoint.port, 443);
        assert_eq!(web.endpoint.path_and_query, "/bundle?x=1");
        assert_eq!(web.profile, Profile::HttpsWeb);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            wire("B..example", "https://h/", "https_web", ""),
            wire("b.example", "http://h/", "https_web", ""),
            wire("b.example", "https://u@h/", "https_web", ""),
            wire("b.example", "https://h/#f", "https_web", ""),
            wire("b.example", "https://h/", "https_pki", ""),
            wire("b.example", "https://h/", "https_spiffe", ""),
            wire(
                "b.example",
                "https://h/",
                "https_web",
                "spiffe://b.example/x",
            ),
            wire(
                "b.example",
                "https://h/",
                "https_spiffe",
                "spiffe://c.example/x",
            ),
        ];
        let expected = [
            "trust_domain",
            "scheme must be https",
            "user info",
            "fragment",
            "bundle_endpoint_profile",
            "required with the https_spiffe",
            "only with the https_spiffe",
            "must be an ID of b.example",
        ];
        for (case, want) in cases.iter().zip(expected) {
            let err = Relationship::from_wire(case).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
    }
}
