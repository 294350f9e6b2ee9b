//! What the browser handlers need from the HTTP server hosting them.

use std::future::Future;
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::BrowserFlows;
use crate::oauth::codes::{CodeError, CodeGrant};
use crate::oauth::device::DeviceCodes;

/// The server hosting the browser flows.
pub trait BrowserHost: Send + Sync + 'static {
    /// The issuer URL (no trailing slash).
    fn issuer(&self) -> &str;
    /// The current time (read once per request).
    fn now(&self) -> SystemTime;
    /// How long a form body may take to arrive in full.
    fn body_read_timeout(&self) -> std::time::Duration;
    /// The flows, when enabled (otherwise the endpoints answer 404).
    fn browser(&self) -> Option<&BrowserFlows>;
    /// Issues an authorization code.
    fn issue_code(
        &self,
        grant: CodeGrant,
        now: SystemTime,
    ) -> impl Future<Output = Result<Zeroizing<String>, CodeError>> + Send;
    /// The device codes (RFC 8628) awaiting a user's decision.
    fn device_codes(&self) -> &DeviceCodes;
    /// The claims of `token` if it is an ID token this server signed (with a key of its
    /// OAuth JWKS, for its issuer; expired tokens included): the `id_token_hint` of
    /// RP-Initiated Logout.
    /// The path of one of this host's endpoints (`LOGIN` → `/oauth2/login`, or
    /// `/t/<tenant>/oauth2/login` for a tenant's host): form actions and links.
    fn route(&self, path: &str) -> String;
    /// The session cookie of this host (each tenant has its own).
    fn session_cookie(&self) -> super::session::SessionCookie;
    /// The signed-in users' API keys (the self-service page), when enabled.
    fn api_key_portal(&self) -> Option<&dyn super::api_keys::ApiKeyPortal> {
        None
    }
    fn verify_id_token_hint(
        &self,
        token: &str,
    ) -> Option<serde_json::Map<String, serde_json::Value>>;
}
