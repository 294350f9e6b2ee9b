//! Errors of the OAuth HTTP boundary, rendered as RFC 6749 §5.2 JSON (house rule 3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Failure of [`super::OAuthServer::run`].
#[derive(Debug, thiserror::Error)]
pub enum OAuthHttpError {
    /// Serving the listener failed.
    #[error("oauth http server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// An OAuth error code (RFC 6749 §5.2, RFC 8707) plus the HTTP-only cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Malformed request (400).
    InvalidRequest,
    /// Client authentication failed (401 + `WWW-Authenticate`).
    InvalidClient,
    /// The grant (refresh token, code) is invalid, expired, revoked or another client's
    /// (400).
    InvalidGrant,
    /// The client may not use this grant type (400).
    UnauthorizedClient,
    /// Grant type not supported by this server (400).
    UnsupportedGrantType,
    /// Requested scope exceeds the client's (400).
    InvalidScope,
    /// Requested resource / audience not allowed (400, RFC 8707).
    InvalidTarget,
    /// Request body above the limit (413, `invalid_request`).
    PayloadTooLarge,
    /// Request body not received within the body deadline (408, `invalid_request`).
    RequestTimeout,
    /// Per-client rate limit hit (429 + `Retry-After`, `temporarily_unavailable`).
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// Device code not yet approved (400, RFC 8628 §3.5).
    AuthorizationPending,
    /// Device polled faster than its interval (400, RFC 8628 §3.5).
    SlowDown,
    /// Device code expired (400, RFC 8628 §3.5).
    ExpiredToken,
    /// The user denied the request (400).
    AccessDenied,
    /// A dependency is unavailable (503, `server_error`).
    Unavailable,
    /// Internal failure (500, `server_error`).
    Internal,
}

/// An error answer: a code and a fixed, secret-free description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// Human-readable description (never contains request secrets or tokens).
    pub description: &'static str,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        Self { code, description }
    }

    /// The `error` string on the wire.
    pub fn wire_code(&self) -> &'static str {
        match self.code {
            ErrorCode::InvalidRequest | ErrorCode::PayloadTooLarge | ErrorCode::RequestTimeout => {
                "invalid_request"
            }
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::RateLimited { .. } => "temporarily_unavailable",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::Unavailable | ErrorCode::Internal => "server_error",
        }
    }

    fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.wire_code(),
            "error_description": self.description,
        });
        let mut response = (self.status(), axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(super::token_metrics::ErrorCodeTag(self.wire_code()));
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self.code {
            ErrorCode::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tessera\""),
                );
            }
            ErrorCode::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}
