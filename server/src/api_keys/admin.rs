//! API keys on the admin API: a key carrying an admin scope (`admin:<role>`) is a bearer
//! credential with that role ([`AdminKeys`], the admin access gate's
//! [`BearerCredentials`]).
//!
//! - The key is looked up in the tenant the call names, then (for calls naming another
//!   tenant) in the default tenant.
//! - A default-tenant key holds its role across the trust domain (entries, agents and
//!   bundles are trust-domain-wide); any other tenant's key is limited to its tenant.
//! - Every use-time check of the key applies (revocation, expiry, owner disabled or gone,
//!   source networks: a key with allowed networks is refused on the Unix socket, whose
//!   callers have no address).

use std::net::IpAddr;
use std::sync::Arc;

use tessera_proto::clock::Clock;

use super::authenticator::{ApiKeyAuthenticator, ApiKeyDenial, AuthenticatedKey};
use super::scopes::ADMIN_SCOPE_PREFIX;
use crate::access::{Denial, Grant, Role};
use crate::api::admin::{BearerCredentials, CallSource, GrantFuture};
use crate::datastore::{ApiKeyStore, OAuthClientStore, TenantId, TenantScope, UserStore};

/// The admin role an API key grants: its admin scope's role (a key carries at most one;
/// see [`super::scopes::check_scopes`]), or `None`.
pub fn admin_role(scopes: &[String]) -> Option<Role> {
    scopes
        .iter()
        .filter_map(|s| s.strip_prefix(ADMIN_SCOPE_PREFIX))
        .filter_map(|name| name.parse::<Role>().ok())
        .next()
}

/// API keys as admin bearer credentials, checked at the clock's time.
#[derive(Clone)]
pub struct AdminKeys<S> {
    keys: ApiKeyAuthenticator<S>,
    clock: Arc<dyn Clock>,
}

impl<S> std::fmt::Debug for AdminKeys<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminKeys").finish_non_exhaustive()
    }
}

impl<S> AdminKeys<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantScope + Clone + Send + Sync + 'static,
{
    /// Admin credentials from `keys`.
    pub fn new(keys: ApiKeyAuthenticator<S>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    async fn authenticate(
        &self,
        token: &str,
        source: Option<IpAddr>,
        tenant: &TenantId,
    ) -> Result<AuthenticatedKey, ApiKeyDenial> {
        let now = self.clock.now();
        let named = self.keys.authenticate(tenant, token, source, now).await;
        let default = TenantId::default_tenant();
        match named {
            Err(ApiKeyDenial::Unknown) if *tenant != default => {
                self.keys.authenticate(&default, token, source, now).await
            }
            other => other,
        }
    }

    async fn grant_of(
        &self,
        token: &str,
        source: CallSource,
        tenant: &TenantId,
    ) -> Result<Grant, Denial> {
        let address = match source {
            CallSource::Network { address } => address,
            CallSource::Socket { .. } => None,
        };
        let key =
            self.authenticate(token, address, tenant)
                .await
                .map_err(|denial| match denial {
                    ApiKeyDenial::Unavailable(_) => Denial::Unavailable,
                    other => Denial::Unauthenticated(other.public_message().to_owned()),
                })?;
        let principal = format!("API key {}", key.id);
        let Some(role) = admin_role(&key.scopes) else {
            return Err(Denial::NoRole {
                principal,
                hint: "an API key needs an admin:<role> scope",
            });
        };
        let limit = (key.tenant != TenantId::default_tenant()).then_some(key.tenant);
        Ok(Grant {
            tenant: limit,
            ..Grant::new(role, principal)
        })
    }
}

impl<S> BearerCredentials for AdminKeys<S>
where
    S: ApiKeyStore + UserStore + OAuthClientStore + TenantScope + Clone + Send + Sync + 'static,
{
    fn grant<'a>(
        &'a self,
        token: &'a str,
        source: CallSource,
        tenant: &'a TenantId,
    ) -> GrantFuture<'a> {
        Box::pin(self.grant_of(token, source, tenant))
    }
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
