//! Tenants' OAuth issuers: the default tenant's authorization server answers at the
//! configured issuer; every other tenant's at `<issuer>/t/<tenant>`, an issuer of its own
//! (discovery, JWKS, token, browser flows …) over the tenant's scoped store, signing keys,
//! sessions and rate limits. A tenant's server is built on its first request and kept.

mod dispatch;
mod keys;

use std::sync::Arc;

use tessera_proto::clock::Clock;

pub use dispatch::Realms;
pub use keys::{TENANT_SYNC, TenantKeys, sync_tenants};

use super::authenticator::StoreClientAuthenticator;
use super::browser::{BrowserConfig, BrowserFlows, StoreClients, StoreConsents};
use super::grants::{GrantLifetimes, Grants};
use super::http::{OAuthHttpConfig, OAuthServer};
use super::profiles::StoreUserProfiles;
use super::signer::CaTokenSigner;
use super::trust::CaTrustBundles;
use crate::ca::CaManager;
use crate::datastore::{Datastore, DatastoreError, TenantId};
use crate::metrics::{LoginMetrics, TokenMetrics};
use crate::users::Accounts;

/// One tenant's OAuth server.
pub type TenantServer<S> =
    OAuthServer<StoreClientAuthenticator<S, CaTrustBundles<S>>, CaTokenSigner<S>>;

/// A tenant's server and its grants (for their pruner).
pub struct Realm<S> {
    /// The server.
    pub server: TenantServer<S>,
    /// Its refresh-token grants.
    pub grants: Grants<S>,
}

impl<S> std::fmt::Debug for Realm<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realm").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for RealmParts<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmParts")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// What every tenant's server is built from.
pub struct RealmParts<S> {
    /// The default tenant's settings; a tenant's are [`OAuthHttpConfig::for_tenant`].
    pub http: OAuthHttpConfig,
    /// The CA (signing keys, trust bundles).
    pub ca: Arc<CaManager<S>>,
    /// The store scoped to the default tenant.
    pub store: S,
    /// The default tenant's accounts (a tenant's: [`Accounts::for_tenant`]).
    pub accounts: Accounts<S>,
    /// Refresh-token lifetimes.
    pub lifetimes: GrantLifetimes,
    /// Browser session lifetimes.
    pub browser: BrowserConfig,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Token endpoint metrics.
    pub tokens: TokenMetrics,
    /// Sign-in metrics.
    pub logins: LoginMetrics,
    /// Checks API keys (token exchange and introspection in every tenant).
    pub api_keys: Arc<dyn crate::oauth::http::ApiKeyCheck>,
    /// Manages API keys (the self-service page).
    pub api_key_manager: crate::api_keys::ApiKeyManager<S>,
}

impl<S: Datastore + Clone + std::fmt::Debug> RealmParts<S> {
    /// The server of `tenant`.
    pub fn build(&self, tenant: &TenantId) -> Result<Realm<S>, DatastoreError> {
        let store = self.store.for_tenant(tenant)?;
        let accounts = self.accounts.for_tenant(tenant)?;
        let grants = Grants::new(store.clone(), self.lifetimes);
        let bundles = || CaTrustBundles::new(self.ca.clone(), store.clone());
        let server = OAuthServer::new(
            self.http.for_tenant(tenant),
            StoreClientAuthenticator::new(store.clone(), bundles()),
            CaTokenSigner::for_tenant(self.ca.clone(), tenant.to_string()),
            Arc::new(store.clone()),
            self.clock.clone(),
        )
        .with_user_profiles(StoreUserProfiles::new(store.clone()))
        .with_browser(
            BrowserFlows::new(
                accounts,
                StoreClients(store.clone()),
                StoreConsents(store.clone()),
                Arc::new(store.clone()),
                self.browser,
            )
            .with_metrics(self.logins.clone()),
        )
        .with_grants(Arc::new(grants.clone()))
        .with_metrics(self.tokens.clone())
        .with_api_keys(self.api_keys.clone())
        .with_api_key_portal(Arc::new(super::browser::TenantApiKeys {
            manager: self.api_key_manager.clone(),
            tenant: tenant.clone(),
        }));
        Ok(Realm { server, grants })
    }
}
