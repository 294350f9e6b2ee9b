//! The subject of an exchange: who the presented `subject_token` proves the caller acts for.

use std::time::SystemTime;

use serde_json::{Map, Value};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::jwt::{numeric_date_claim, split_compact};
use tessera_proto::jwt_svid::{TokenError, ValidatedJwt};

/// `subject_token_type` of JWTs: JWT-SVIDs and Kubernetes service-account tokens alike.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// What kind of identity the subject is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKind {
    /// A SPIFFE ID proven by a JWT-SVID (own or federated trust domain).
    Spiffe,
    /// A Kubernetes service account proven by TokenReview in the named cluster.
    ServiceAccount {
        /// The configured cluster's name.
        cluster: String,
    },
}

/// A validated subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The SPIFFE ID or `system:serviceaccount:NS:NAME`: `sub` of the issued token.
    pub id: String,
    /// Which kind.
    pub kind: SubjectKind,
    /// The subject token's `exp`: the issued token never outlives it.
    pub expires_at: SystemTime,
}

/// Why a subject token was not accepted. Messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// `subject_token_type` is not one we accept.
    #[error("unsupported subject_token_type")]
    UnsupportedType,
    /// Not a JWT with a JSON claims part.
    #[error("subject token is not a JWT")]
    Malformed,
    /// The JWT-SVID did not validate (signature, trust domain, audience, expiry, …).
    #[error("JWT-SVID: {0}")]
    JwtSvid(#[from] TokenError),
    /// The JWT-SVID's `aud` also names one of our endpoints (e.g. the token endpoint): it
    /// was minted as a client assertion, which is never an exchange subject.
    #[error("JWT-SVID audience names an endpoint (a client assertion, not a subject)")]
    ClientAssertionAudience,
    /// TokenReview did not authenticate the token, or its result is unacceptable.
    #[error("kubernetes cluster {cluster}: {reason}")]
    Kubernetes {
        /// The cluster's name.
        cluster: String,
        /// Why (from our checks or the API server's `status.error`, shortened).
        reason: String,
    },
    /// Bundles or the cluster's API could not be consulted (answered 503).
    #[error("{0}")]
    Unavailable(String),
}

/// The claims of a JWT without verifying anything (the one parser,
/// [`tessera_proto::jwt`]): only for routing (`iss`) and, after TokenReview authenticated the
/// token, for its `exp`.
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, SubjectError> {
    split_compact(token)
        .map(|jws| jws.claims)
        .map_err(|_| SubjectError::Malformed)
}

/// A NumericDate claim by the one parser's rules (absent or not a NumericDate: `None`).
pub fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<SystemTime> {
    numeric_date_claim(claims, name)
        .ok()
        .flatten()
        .map(from_unix_seconds)
}

impl Subject {
    /// The subject of a validated JWT-SVID (`validate_jwt_svid` already required `exp`).
    pub fn from_jwt_svid(jwt: &ValidatedJwt) -> Result<Self, SubjectError> {
        let expires_at = numeric_date(&jwt.claims, "exp")
            .ok_or(SubjectError::JwtSvid(TokenError::MissingExpiry))?;
        Ok(Self {
            id: jwt.spiffe_id.as_str().to_owned(),
            kind: SubjectKind::Spiffe,
            expires_at,
        })
    }
}
