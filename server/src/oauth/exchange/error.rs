//! Why a token exchange was refused. Converted to RFC 6749 / RFC 8693 JSON errors only by
//! the HTTP layer; every message is fixed and holds no token.

use super::subject::SubjectError;

/// A refused token exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The client is not registered for the token-exchange grant (`unauthorized_client`).
    #[error("the client may not use token exchange")]
    UnauthorizedClient,
    /// A missing, repeated or unsupported parameter (`invalid_request`).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The subject token is invalid (`invalid_request`, RFC 8693 §2.2.2). The detail is
    /// logged, never sent.
    #[error("subject token rejected: {0}")]
    Subject(SubjectError),
    /// No policy allows this subject through this client (`invalid_request`: RFC 8693
    /// §2.2.2 — a subject token "unacceptable based on policy").
    #[error("no exchange policy allows this subject for this client")]
    NoPolicy,
    /// The requested audience is not allowed, or none was requested while several are
    /// (`invalid_target`).
    #[error("{0}")]
    Target(&'static str),
    /// The requested scope is not allowed (`invalid_scope`).
    #[error("requested scope is not allowed by the exchange policy")]
    Scope,
    /// A dependency (bundles, TokenReview, signing keys) is unavailable (`server_error`,
    /// 503). The string is logged, never sent.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ExchangeError {
    /// A short, token-free reason for audit events.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnauthorizedClient => "grant_not_allowed",
            Self::BadRequest(_) => "bad_request",
            Self::Subject(_) => "subject_token_rejected",
            Self::NoPolicy => "no_policy",
            Self::Target(_) => "audience_not_allowed",
            Self::Scope => "scope_not_allowed",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The fixed description sent to the client.
    pub fn description(&self) -> &'static str {
        match self {
            Self::UnauthorizedClient => "the client may not use token exchange",
            Self::BadRequest(d) | Self::Target(d) => d,
            Self::Subject(_) => "subject_token is invalid",
            Self::NoPolicy => "no exchange policy allows this subject for this client",
            Self::Scope => "requested scope is not allowed by the exchange policy",
            Self::Unavailable(_) => "temporarily unavailable",
        }
    }
}

impl From<SubjectError> for ExchangeError {
    fn from(e: SubjectError) -> Self {
        match e {
            SubjectError::UnsupportedType => Self::BadRequest(
                "unsupported subject_token_type (use urn:ietf:params:oauth:token-type:jwt)",
            ),
            SubjectError::Unavailable(detail) => Self::Unavailable(detail),
            other => Self::Subject(other),
        }
    }
}
