//! The OAuth client model and its wire form (`tessera.admin.v1.OAuthClient`).

use std::time::Duration;

use tessera_proto::identity::{SpiffeId, TrustDomain};
use tessera_proto::wire::tessera::admin::v1::OAuthClient;

/// The grant types a client may be registered for. `password` and `implicit` are never
/// accepted (RFC 9700).
pub const GRANT_TYPES: [&str; 5] = [
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:device_code",
];

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// The client secret in the form body.
    ClientSecretPost,
    /// An RFC 7523 assertion signed by a key in the client's JWKS.
    PrivateKeyJwt,
    /// RFC 8705 mutual TLS (subject DN or SPIFFE ID).
    TlsClientAuth,
    /// A JWT-SVID as the client assertion.
    SpiffeJwt,
    /// A public client: no authentication.
    None,
}

impl AuthMethod {
    /// Every method, in wire order.
    pub const ALL: [AuthMethod; 6] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::TlsClientAuth,
        Self::SpiffeJwt,
        Self::None,
    ];

    /// The registered name (RFC 7591 `token_endpoint_auth_method`; `spiffe_jwt` is ours).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SpiffeJwt => "spiffe_jwt",
            Self::None => "none",
        }
    }

    /// Parses a registered name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether this method authenticates with a server-generated client secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated OAuth client. Holds no secret (see [`crate::datastore::SecretRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The client identifier (`[A-Za-z0-9._~-]`, at most 128 bytes).
    pub client_id: String,
    /// A display name.
    pub name: String,
    /// Allowed grant types, a subset of [`GRANT_TYPES`].
    pub grant_types: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Allowed audiences / resources.
    pub audiences: Vec<String>,
    /// Registered redirect URIs (matched exactly).
    pub redirect_uris: Vec<String>,
    /// Where RP-Initiated Logout may send the browser back (matched exactly).
    pub post_logout_redirect_uris: Vec<String>,
    /// How the client authenticates.
    pub auth_method: AuthMethod,
    /// The SPIFFE ID for `spiffe_jwt` / `tls_client_auth`.
    pub spiffe_id: Option<SpiffeId>,
    /// The JWK set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// The certificate subject DN for `tls_client_auth`.
    pub tls_subject_dn: Option<String>,
    /// The trust domain whose X.509 authorities may vouch for `tls_subject_dn`; `None`
    /// means the own trust domain. Only set together with `tls_subject_dn`.
    pub tls_trust_domain: Option<TrustDomain>,
    /// Access-token lifetime; `None` means the server default.
    pub access_token_ttl: Option<Duration>,
    /// A public client (no credentials).
    pub public: bool,
    /// A first-party client (no consent screen).
    pub first_party: bool,
    /// May introspect tokens issued to other clients (else only its own).
    pub introspect_any: bool,
    /// Disabled clients are refused at once.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last secret rotation; 0 when never rotated.
    pub secret_rotated_at: i64,
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl Client {
    /// Validates a wire client (see [`super::ClientError`] for what is refused).
    pub fn from_proto(c: OAuthClient) -> Result<Self, super::ClientError> {
        super::validate::validate(c)
    }

    /// The wire form, as stored and as returned by the admin API.
    pub fn to_proto(&self) -> OAuthClient {
        OAuthClient {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            grant_types: self.grant_types.clone(),
            scopes: self.scopes.clone(),
            audiences: self.audiences.clone(),
            redirect_uris: self.redirect_uris.clone(),
            auth_method: self.auth_method.as_str().to_string(),
            spiffe_id: self
                .spiffe_id
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            jwks: self.jwks.clone().unwrap_or_default(),
            tls_subject_dn: self.tls_subject_dn.clone().unwrap_or_default(),
            tls_trust_domain: self
                .tls_trust_domain
                .as_ref()
                .map(|td| td.as_str().to_string())
                .unwrap_or_default(),
            access_token_ttl: self
                .access_token_ttl
                .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
                .unwrap_or(0),
            public: self.public,
            first_party: self.first_party,
            introspect_any: self.introspect_any,
            enabled: self.enabled,
            created_at: self.created_at,
            secret_rotated_at: self.secret_rotated_at,
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
        }
    }

    pub(super) fn optional(s: &str) -> Option<String> {
        opt(s)
    }
}
