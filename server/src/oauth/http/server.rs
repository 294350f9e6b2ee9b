//! The OAuth HTTP server: shared state, router, `run(self, listener, shutdown)` (plain
//! HTTP, loopback) and `run_tls(self, listener, tls, shutdown)`.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::{get, post};
use tessera_proto::clock::Clock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::config::OAuthHttpConfig;
use super::denylist::Denylist;
use super::error::OAuthHttpError;
use super::limits::RateLimiter;
use super::ports::{ClientAuthenticator, TokenSigner};
use super::userinfo::{self, UserProfiles};
use super::{device, discovery, endpoints, request_id, tls, verify};
use crate::metrics::TokenMetrics;
use crate::oauth::browser::{self, BrowserFlows, BrowserHost};
use crate::oauth::codes::{AuthorizationCodes, CodeError, CodeGrant, MAX_CODE_TTL};
use crate::oauth::device::{DEVICE_CODE_TTL, DeviceCodes};
use crate::oauth::exchange::TokenExchange;
use crate::oauth::grants::GrantService;
use crate::oauth::state::StateStore;

/// State shared by all handlers.
pub(crate) struct Shared<A, S> {
    pub(crate) config: OAuthHttpConfig,
    pub(crate) authenticator: A,
    pub(crate) signer: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) denylist: Denylist,
    pub(crate) limiter: RateLimiter,
    /// RFC 8693 token exchange, when enabled ([`OAuthServer::with_token_exchange`]).
    pub(crate) exchange: OnceLock<TokenExchange>,
    /// Authorization codes issued by the browser flow and redeemed at the token endpoint.
    pub(crate) codes: AuthorizationCodes,
    /// Device codes (RFC 8628) issued at `/oauth2/device_authorization`.
    pub(crate) device: DeviceCodes,
    /// The browser flows (authorize, login, consent), when enabled ([`OAuthServer::with_browser`]).
    pub(crate) browser: OnceLock<BrowserFlows>,
    /// Accounts for the UserInfo endpoint ([`OAuthServer::with_user_profiles`]).
    pub(crate) users: OnceLock<Box<dyn UserProfiles>>,
    /// Grants and refresh tokens, when enabled ([`OAuthServer::with_grants`]).
    pub(crate) grants: OnceLock<Arc<dyn GrantService>>,
    /// Token endpoint metrics ([`OAuthServer::with_metrics`]).
    pub(crate) metrics: OnceLock<TokenMetrics>,
    /// API keys: exchanged at the token endpoint and introspectable
    /// ([`OAuthServer::with_api_keys`]).
    pub(crate) api_keys: OnceLock<Arc<dyn super::ports::ApiKeyCheck>>,
    /// The self-service page of API keys ([`OAuthServer::with_api_key_portal`]).
    pub(crate) api_key_portal: OnceLock<Arc<dyn browser::ApiKeyPortal>>,
    /// More routes served beside these ([`OAuthServer::with_routes`]: other tenants').
    pub(crate) extra: OnceLock<Router>,
}

impl<A, S> Shared<A, S> {
    /// The grants service (refresh tokens), when the server was built with one.
    pub(crate) fn grants(&self) -> Option<&dyn GrantService> {
        self.grants.get().map(|g| g.as_ref())
    }
}

/// The OAuth 2.0 authorization server's HTTP surface (discovery, JWKS, token,
/// introspection, revocation), generic over its client store and signer.
pub struct OAuthServer<A, S> {
    shared: Arc<Shared<A, S>>,
}

impl<A, S> std::fmt::Debug for OAuthServer<A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthServer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<A: ClientAuthenticator, S: TokenSigner> OAuthServer<A, S> {
    /// A server for `config`, authenticating clients with `authenticator`, signing with
    /// `signer`, keeping its short-lived state (sessions, codes, device codes, revoked
    /// `jti`s) in `state` and reading time from `clock`.
    pub fn new(
        config: OAuthHttpConfig,
        authenticator: A,
        signer: S,
        state: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let limiter = RateLimiter::new(config.rate_per_second, config.burst);
        Self {
            shared: Arc::new(Shared {
                config,
                authenticator,
                signer,
                clock,
                denylist: Denylist::new(state.clone()),
                limiter,
                exchange: OnceLock::new(),
                codes: AuthorizationCodes::new(MAX_CODE_TTL, state.clone()),
                device: DeviceCodes::new(DEVICE_CODE_TTL, state.clone()),
                browser: OnceLock::new(),
                users: OnceLock::new(),
                grants: OnceLock::new(),
                metrics: OnceLock::new(),
                api_keys: OnceLock::new(),
                api_key_portal: OnceLock::new(),
                extra: OnceLock::new(),
            }),
        }
    }

    /// Enables token exchange (RFC 8693) at the token endpoint. Set once: a second call is
    /// ignored. Without it, token-exchange requests get `unsupported_grant_type`.
    pub fn with_token_exchange(self, exchange: TokenExchange) -> Self {
        let _ = self.shared.exchange.set(exchange);
        self
    }

    /// Enables the browser flows (`/oauth2/authorize`, login, consent, logout). Set once:
    /// a second call is ignored. Without it those endpoints answer 404.
    pub fn with_browser(self, flows: BrowserFlows) -> Self {
        let _ = self.shared.browser.set(flows);
        self
    }

    /// Reads accounts for `/oauth2/userinfo` from `users`. Set once: a second call is
    /// ignored. Without it, UserInfo answers 503.
    pub fn with_user_profiles(self, users: impl UserProfiles) -> Self {
        let _ = self.shared.users.set(Box::new(users));
        self
    }

    /// The authorization codes (tests seed them as the browser flow would).
    #[cfg(test)]
    pub(crate) fn codes(&self) -> &AuthorizationCodes {
        &self.shared.codes
    }

    /// The device codes (tests approve them as the device pages would).
    #[cfg(test)]
    pub(crate) fn device_codes(&self) -> &DeviceCodes {
        &self.shared.device
    }

    /// Enables grants: the `refresh_token` grant, and refresh tokens at the revocation and
    /// introspection endpoints. Set once: a second call is ignored. Without it,
    /// `refresh_token` requests get `unsupported_grant_type`.
    pub fn with_grants(self, grants: Arc<dyn GrantService>) -> Self {
        let _ = self.shared.grants.set(grants);
        self
    }

    /// Records token requests in `metrics`. Set once: a second call is ignored. Without
    /// it, nothing is recorded.
    pub fn with_metrics(self, metrics: TokenMetrics) -> Self {
        let _ = self.shared.metrics.set(metrics);
        self
    }

    /// Accepts API keys (issue 17): token exchange with the API key subject token type,
    /// and introspection of keys. Set once: a second call is ignored. Without it, such
    /// exchanges get `unsupported_grant_type` like any token exchange of a server without
    /// one, and keys introspect as inactive.
    pub fn with_api_keys(self, keys: Arc<dyn super::ports::ApiKeyCheck>) -> Self {
        let _ = self.shared.api_keys.set(keys);
        self
    }

    /// Serves the self-service page of API keys (`/oauth2/api-keys`, with the browser
    /// flows). Set once: a second call is ignored. Without it the page answers 404.
    pub fn with_api_key_portal(self, portal: Arc<dyn browser::ApiKeyPortal>) -> Self {
        let _ = self.shared.api_key_portal.set(portal);
        self
    }

    /// Serves `routes` beside this server's (other tenants' issuers below this one). Set
    /// once: a second call is ignored.
    pub fn with_routes(self, routes: Router) -> Self {
        let _ = self.shared.extra.set(routes);
        self
    }

    /// The grants service, when enabled (the browser flows start grants through it).
    pub fn grants(&self) -> Option<&dyn GrantService> {
        self.shared.grants()
    }

    /// The axum router (all endpoints), sharing this server's state.
    pub fn router(&self) -> Router {
        let own = Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(discovery::metadata::<A, S>),
            )
            .route(
                "/.well-known/openid-configuration",
                get(discovery::metadata::<A, S>),
            )
            .route("/.well-known/jwks.json", get(discovery::jwks::<A, S>))
            .route("/oauth2/token", post(endpoints::token::<A, S>))
            .route(
                "/oauth2/device_authorization",
                post(device::device_authorization::<A, S>),
            )
            .route("/oauth2/introspect", post(endpoints::introspect::<A, S>))
            .route("/oauth2/revoke", post(endpoints::revoke::<A, S>))
            .route("/oauth2/authorize", get(browser::authorize::<Shared<A, S>>))
            .route("/oauth2/login", post(browser::login_post::<Shared<A, S>>))
            .route(
                "/oauth2/login/totp",
                post(browser::totp_post::<Shared<A, S>>),
            )
            .route(
                "/oauth2/device",
                get(browser::device_get::<Shared<A, S>>).post(browser::device_post::<Shared<A, S>>),
            )
            .route(
                "/oauth2/consent",
                post(browser::consent_post::<Shared<A, S>>),
            )
            .route(
                "/oauth2/logout",
                get(browser::logout_get::<Shared<A, S>>).post(browser::logout_post::<Shared<A, S>>),
            )
            .route(
                browser::api_keys::API_KEYS,
                get(browser::api_keys_get::<Shared<A, S>>)
                    .post(browser::api_keys_post::<Shared<A, S>>),
            )
            .route(
                "/oauth2/userinfo",
                get(userinfo::userinfo::<A, S>).post(userinfo::userinfo::<A, S>),
            )
            .with_state(Arc::clone(&self.shared))
            .layer(axum::middleware::from_fn_with_state(
                self.shared.config.tenant.clone(),
                request_id::with_request_id,
            ));
        match self.shared.extra.get() {
            Some(extra) => own.merge(extra.clone()),
            None => own,
        }
    }

    /// Serves plain HTTP on `listener` until `shutdown` is cancelled, then drains.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), OAuthHttpError> {
        let router = self.router();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, issuer = %self.shared.config.issuer, "oauth http listening");
            if addr.ip().is_loopback() {
                tracing::warn!(%addr, "oauth served over plain HTTP (loopback only): configure TLS for anything but local use");
            } else {
                tracing::warn!(%addr, "oauth served over plain HTTP on a non-loopback address");
            }
        }
        // Not `axum::serve`: it has no header read timeout (issue 11 §12).
        let header_read_timeout = self.shared.config.header_read_timeout;
        tls::serve_plain(listener, router, header_read_timeout, shutdown).await
    }

    /// Serves HTTPS on `listener` until `shutdown` is cancelled, then drains. Each
    /// connection is handshaken with the configuration `tls` holds at accept time; a
    /// client certificate, when presented, reaches the handlers as a
    /// [`super::ClientCertificate`] extension.
    pub async fn run_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: watch::Receiver<Arc<rustls::ServerConfig>>,
        shutdown: CancellationToken,
    ) -> Result<(), OAuthHttpError> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, issuer = %self.shared.config.issuer, "oauth https listening");
        }
        let header_read_timeout = self.shared.config.header_read_timeout;
        tls::serve(listener, self.router(), tls, header_read_timeout, shutdown).await
    }
}

impl<A: ClientAuthenticator, S: TokenSigner> BrowserHost for Shared<A, S> {
    fn issuer(&self) -> &str {
        &self.config.issuer
    }

    fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }

    fn body_read_timeout(&self) -> std::time::Duration {
        self.config.body_read_timeout
    }

    fn browser(&self) -> Option<&BrowserFlows> {
        self.browser.get()
    }

    async fn issue_code(
        &self,
        grant: CodeGrant,
        now: std::time::SystemTime,
    ) -> Result<zeroize::Zeroizing<String>, CodeError> {
        self.codes.issue(grant, now).await
    }

    fn device_codes(&self) -> &DeviceCodes {
        &self.device
    }

    fn route(&self, path: &str) -> String {
        format!("{}{path}", self.config.path_prefix)
    }

    fn session_cookie(&self) -> crate::oauth::browser::SessionCookie {
        crate::oauth::browser::SessionCookie::for_tenant(&self.config.issuer, &self.config.tenant)
    }

    fn api_key_portal(&self) -> Option<&dyn browser::ApiKeyPortal> {
        self.api_key_portal.get().map(|p| p.as_ref())
    }

    fn verify_id_token_hint(
        &self,
        token: &str,
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        verify::verify_id_token_hint(token, &self.signer.jwks(), &self.config.issuer)
    }
}
