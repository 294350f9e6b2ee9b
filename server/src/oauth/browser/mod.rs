//! The browser side of the authorization code flow: `GET /oauth2/authorize`, the login
//! page (password, then TOTP), the consent page and logout, up to issuing the code.
//!
//! - [`authorize`]: request validation (exact redirect URIs, PKCE S256, scopes, prompt).
//! - [`redirect`]: redirect-URI matching and the response URL (`iss`, `state`).
//! - [`session`]: server-side sessions behind a random-id cookie (in memory, per process).
//! - [`csrf`], [`pages`]: CSRF tokens and the escaped HTML with its security headers.
//! - [`consent`]: remembered consent, kept in the datastore (survives restarts, shared by
//!   replicas).
//! - `handlers`, `login`, `logout` (with `flow`, `post`): the axum handlers, generic
//!   over the [`BrowserHost`]; `end_session`: OpenID RP-Initiated Logout requests.

pub mod api_keys;
pub mod authorize;
pub mod consent;
pub mod csrf;
mod device;
mod end_session;
mod flow;
mod handlers;
mod host;
mod login;
mod logout;
pub mod pages;
mod ports;
mod post;
pub mod redirect;
pub mod session;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

use crate::metrics::LoginMetrics;
use std::sync::Arc;
use std::time::Duration;

use crate::oauth::state::StateStore;

pub use api_keys::{ApiKeyPortal, TenantApiKeys, api_keys_get, api_keys_post};
pub use device::{device_get, device_post};
pub use handlers::{authorize, consent_post};
pub use host::BrowserHost;
pub use login::{login_post, totp_post};
pub use logout::{logout_get, logout_post};
pub use ports::{
    BoxFuture, ClientDirectory, ConsentMemory, StoreClients, StoreConsents, UserLogin,
};
pub use session::SessionCookie;

/// Settings of the browser flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserConfig {
    /// A session unused this long ends. Default 1 h.
    pub session_idle_ttl: Duration,
    /// A session ends this long after sign-in whatever its use. Default 12 h.
    pub session_absolute_ttl: Duration,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            session_idle_ttl: Duration::from_secs(3600),
            session_absolute_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// The state of the browser flows: who can sign in, the clients, sessions and consents.
pub struct BrowserFlows {
    users: Arc<dyn UserLogin>,
    clients: Arc<dyn ClientDirectory>,
    pub(crate) sessions: session::SessionStore,
    consents: consent::Consents,
    metrics: LoginMetrics,
}

impl std::fmt::Debug for BrowserFlows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserFlows").finish_non_exhaustive()
    }
}

impl BrowserFlows {
    /// Flows signing users in with `users`, reading clients from `clients`, remembering
    /// consent in `consents` and keeping sessions in `state`.
    pub fn new(
        users: impl UserLogin,
        clients: impl ClientDirectory,
        consents: impl ConsentMemory,
        state: Arc<dyn StateStore>,
        config: BrowserConfig,
    ) -> Self {
        Self {
            users: Arc::new(users),
            clients: Arc::new(clients),
            sessions: session::SessionStore::new(
                config.session_idle_ttl,
                config.session_absolute_ttl,
                state,
            ),
            consents: consent::Consents::new(consents),
            metrics: LoginMetrics::default(),
        }
    }

    /// Records sign-in steps in `metrics`.
    pub fn with_metrics(mut self, metrics: LoginMetrics) -> Self {
        self.metrics = metrics;
        self
    }
}
