//! The OAuth authorization server of `run`: its TLS, listener and every tenant's issuer.

use std::sync::Arc;

use tessera_proto::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{RunError, startup};
use crate::ca::CaManager;
use crate::config::{IssuerHost, OAuthTls, ServerConfig};
use crate::datastore::{Datastore, TenantId};
use crate::metrics::ServerMetrics;
use crate::oauth::browser::BrowserConfig;
use crate::oauth::exchange::{self, KubeReviewers, TokenExchange};
use crate::oauth::grants::GrantLifetimes;
use crate::oauth::http::{OAuthHttpConfig, tls as oauth_tls};
use crate::oauth::realms::{Realm, RealmParts, Realms, TenantServer};
use crate::oauth::trust::CaTrustBundles;
use crate::tls::TlsPublisher;

/// What the OAuth servers of every tenant need of API keys.
pub(super) struct ApiKeyParts<S> {
    /// Checks presented keys (token exchange, introspection).
    pub(super) check: Arc<dyn crate::oauth::http::ApiKeyCheck>,
    /// Creates, lists and revokes keys (the self-service page).
    pub(super) manager: crate::api_keys::ApiKeyManager<S>,
}

/// The OAuth server, its bound listener and its transport.
pub(super) struct OAuthPart<S> {
    pub(super) server: TenantServer<S>,
    pub(super) listener: TcpListener,
    /// `None`: plain HTTP (loopback only, checked by the config).
    pub(super) tls: Option<watch::Receiver<Arc<rustls::ServerConfig>>>,
    /// With `serve_svid`: keeps the server SVID configuration current.
    pub(super) publisher: Option<TlsPublisher<S>>,
    /// Refresh-token lifetimes, for the grants' pruner.
    pub(super) lifetimes: GrantLifetimes,
}

/// The OAuth authorization server and its bound listener, when `[oauth]` is configured.
pub(super) async fn oauth_server<S: Datastore + Clone + std::fmt::Debug>(
    config: &ServerConfig,
    ca: &Arc<CaManager<S>>,
    store: &S,
    clock: &Arc<dyn Clock>,
    accounts: crate::users::Accounts<S>,
    metrics: &ServerMetrics,
    api_keys: ApiKeyParts<S>,
) -> Result<Option<OAuthPart<S>>, RunError> {
    let Some(section) = &config.oauth else {
        return Ok(None);
    };
    let (tls, publisher) = match section.tls() {
        OAuthTls::None => (None, None),
        OAuthTls::Files { cert, key } => {
            let config = oauth_tls::config_from_pem_files(&cert, &key)
                .map_err(|e| RunError::Startup(e.to_string()))?;
            // Read once at start: nothing replaces it, the receiver keeps the last value.
            (Some(watch::channel(config).1), None)
        }
        OAuthTls::Svid(host) => {
            let (dns, ip) = match host {
                IssuerHost::Dns(name) => (vec![name], Vec::new()),
                IssuerHost::Ip(ip) => (Vec::new(), vec![ip]),
            };
            let (publisher, rx) =
                TlsPublisher::new(ca.clone(), clock.clone(), oauth_tls::svid_profile(dns, ip))
                    .map_err(|e| startup("oauth.serve_svid")(&e))?;
            (Some(rx), Some(publisher))
        }
    };
    let listener = TcpListener::bind(section.bind_address)
        .await
        .map_err(|e| startup(&format!("oauth.bind_address {}", section.bind_address))(&e))?;
    let mut http = OAuthHttpConfig::new(section.issuer.clone());
    http.access_token_ttl = section.access_token_ttl;
    http.rate_per_second = section.rate_limit_per_second;
    http.burst = section.rate_limit_burst;
    http.body_read_timeout = section.body_read_timeout;
    http.header_read_timeout = section.header_read_timeout;
    let exchange_section = &section.token_exchange;
    let reviewers = KubeReviewers::connect(&exchange::service::clusters(exchange_section))
        .await
        .map_err(|e| startup("oauth.token_exchange.k8s_clusters")(&e))?;
    let exchange = TokenExchange::from_config(
        exchange_section,
        &http.issuer,
        CaTrustBundles::new(ca.clone(), store.clone()),
        reviewers,
    )
    .map_err(|e| startup("oauth.token_exchange")(&e))?;
    tracing::info!(
        policies = exchange_section.policy.len(),
        k8s_clusters = exchange_section.k8s_clusters.len(),
        "OAuth token exchange ready (default deny)"
    );
    let lifetimes = GrantLifetimes {
        idle: section.refresh_token_idle_ttl,
        absolute: section.refresh_token_absolute_ttl,
    };
    let parts = RealmParts {
        http,
        ca: ca.clone(),
        store: store.clone(),
        accounts,
        lifetimes,
        browser: BrowserConfig {
            session_idle_ttl: section.session_idle_ttl,
            session_absolute_ttl: section.session_absolute_ttl,
        },
        clock: clock.clone(),
        tokens: metrics.tokens.clone(),
        logins: metrics.logins.clone(),
        api_keys: api_keys.check,
        api_key_manager: api_keys.manager,
    };
    // The default tenant's server at the issuer (with token exchange, configured
    // server-wide); every other tenant's below it at `/t/<tenant>`.
    let Realm { server, .. } = parts
        .build(&TenantId::default_tenant())
        .map_err(|e| startup("oauth")(&e))?;
    let realms = Realms::new(parts);
    let server = server
        .with_token_exchange(exchange)
        .with_routes(realms.routes());
    tracing::info!(
        issuer = %section.issuer,
        address = %section.bind_address,
        tls = tls.is_some(),
        "OAuth server listening"
    );
    Ok(Some(OAuthPart {
        server,
        listener,
        tls,
        publisher,
        lifetimes,
    }))
}
