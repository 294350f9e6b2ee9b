//! The client store as the token endpoint's client authenticator, for every registered
//! method:
//!
//! - `client_secret_basic` / `client_secret_post`: interchangeable for a secret client (as in
//!   Hydra and most servers: both carry the same secret; only the transport differs).
//! - `private_key_jwt`: RFC 7523 assertion verified with the client's JWK set; the client is
//!   the `client_id` parameter or, without it, the assertion's `iss` = `sub`.
//! - `spiffe_jwt`: a JWT-SVID for the client's SPIFFE ID, checked against the trust bundles
//!   (own and federated); the `client_id` parameter is **required** (a SPIFFE ID is not a
//!   client ID, and there is no index from SPIFFE IDs to clients).
//! - `tls_client_auth`: the connection's client certificate chain (RFC 8705 §2.1); tokens
//!   are then bound to it (`cnf.x5t#S256`). A secret client presenting a certificate is
//!   not bound (RFC 8705 §3 allows it; kept simple).
//! - `none`: a public client sends only its `client_id`, on a connection without a client
//!   certificate; it is identified, not authenticated (RFC 6749 §2.1), so what it may do is
//!   bounded by its registration (never `client_credentials`) and, for refresh tokens, by
//!   the token being bound to it.
//!
//! The method used must be the registered one; disabled and unknown clients are refused.
//! Assertion `jti`s are single use through the datastore's [`ReplayCache`] (every replica
//! sees every use).

use std::sync::Arc;

use super::clients::{
    AssertionError, AuthMethod, CertificateError, Client, ClientAuthError, ReplayCache,
    ReplayError, authenticate_secret, get_client, unverified_client_id, verify_client_certificate,
    verify_private_key_jwt, verify_spiffe_jwt,
};
use super::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, PresentedCredentials,
    SingleUse, TrustBundles,
};
use crate::datastore::{ExpiringStore, OAuthClientStore};

/// Audit target for client-authentication failures (the reason, never a credential).
const AUDIT: &str = "tessera::audit";

/// Authenticates callers against the client store, the trust bundles and the replay cache.
#[derive(Debug)]
pub struct StoreClientAuthenticator<S, B> {
    store: S,
    bundles: B,
    replay: ReplayCache,
}

impl<S: ExpiringStore + Clone, B> StoreClientAuthenticator<S, B> {
    /// An authenticator over `store` (clients, and the assertion `jti`s) and `bundles`.
    pub fn new(store: S, bundles: B) -> Self {
        let replay = ReplayCache::new(Arc::new(store.clone()));
        Self {
            store,
            bundles,
            replay,
        }
    }
}

fn mismatch(client: &Client, used: &'static str) -> ClientAuthError {
    ClientAuthError::MethodMismatch {
        registered: client.auth_method,
        used,
    }
}

impl<S: OAuthClientStore, B: TrustBundles> StoreClientAuthenticator<S, B> {
    async fn client(&self, client_id: &str) -> Result<Client, ClientAuthError> {
        let client = get_client(&self.store, client_id)
            .await?
            .ok_or(ClientAuthError::UnknownClient)?;
        if !client.enabled {
            return Err(ClientAuthError::Disabled);
        }
        Ok(client)
    }

    async fn bundles(
        &self,
    ) -> Result<Vec<tessera_proto::wire::tessera::types::v1::Bundle>, ClientAuthError> {
        self.bundles
            .bundles()
            .await
            .map_err(ClientAuthError::Bundles)
    }

    /// `private_key_jwt` or `spiffe_jwt`, by the client's registration.
    async fn by_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
        context: &AuthContext<'_>,
    ) -> Result<(Client, Option<SingleUse>), ClientAuthError> {
        let id = match client_id {
            Some(id) => id.to_owned(),
            None => unverified_client_id(assertion).ok_or(ClientAuthError::UnknownClient)?,
        };
        let client = self.client(&id).await?;
        let verified = match client.auth_method {
            AuthMethod::PrivateKeyJwt => {
                let jwks = client.jwks.as_deref().ok_or(AssertionError::BadJwks)?;
                let audiences = [context.token_endpoint, context.issuer, context.endpoint];
                verify_private_key_jwt(assertion, &client.client_id, jwks, &audiences, context.now)?
            }
            AuthMethod::SpiffeJwt => {
                if client_id.is_none() {
                    return Err(ClientAuthError::MissingClientId);
                }
                let spiffe_id = client
                    .spiffe_id
                    .as_ref()
                    .ok_or_else(|| mismatch(&client, "spiffe_jwt"))?;
                let bundles = self.bundles().await?;
                // Not the issuer: that audience is the token-exchange subject's (issue 11 §4).
                let audiences = [context.token_endpoint, context.endpoint];
                verify_spiffe_jwt(
                    assertion,
                    spiffe_id,
                    &bundles,
                    &audiences,
                    context.issuer,
                    context.now,
                )?
            }
            _ => return Err(mismatch(&client, "a client assertion")),
        };
        // The jti is checked and remembered by `use_once`, after the rate limit.
        let single_use = verified.jti.map(|jti| SingleUse {
            jti,
            until: verified.replay_until,
        });
        Ok((client, single_use))
    }

    /// `tls_client_auth`: returns the client and its certificate thumbprint; or, with no
    /// certificate on the connection, a public client (`none`) without one.
    async fn by_certificate(
        &self,
        client_id: &str,
        context: &AuthContext<'_>,
    ) -> Result<(Client, Option<String>), ClientAuthError> {
        let client = self.client(client_id).await?;
        if client.auth_method == AuthMethod::None && context.peer_certificate.is_none() {
            return Ok((client, None));
        }
        if client.auth_method != AuthMethod::TlsClientAuth {
            return Err(mismatch(&client, "tls_client_auth"));
        }
        let chain = context.peer_certificate.ok_or(CertificateError::Missing)?;
        let bundles = self.bundles().await?;
        let thumbprint = verify_client_certificate(
            &chain.0,
            client.spiffe_id.as_ref(),
            client.tls_subject_dn.as_deref(),
            client.tls_trust_domain.as_ref(),
            &bundles,
            context.now,
        )?;
        Ok((client, Some(thumbprint)))
    }
}

impl<S, B> ClientAuthenticator for StoreClientAuthenticator<S, B>
where
    S: OAuthClientStore + Clone,
    B: TrustBundles,
{
    async fn authenticate(
        &self,
        presented: &PresentedCredentials,
        context: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        let (method, result) = match presented {
            PresentedCredentials::Secret { client_id, secret } => (
                "client_secret",
                authenticate_secret(&self.store, client_id, secret, context.now)
                    .await
                    .map(|c| (c, None, None)),
            ),
            PresentedCredentials::Assertion {
                client_id,
                assertion,
            } => (
                "client_assertion",
                self.by_assertion(client_id.as_deref(), assertion, context)
                    .await
                    .map(|(c, single_use)| (c, None, single_use)),
            ),
            PresentedCredentials::Certificate { client_id } => (
                "tls_client_auth",
                self.by_certificate(client_id, context)
                    .await
                    .map(|(c, thumbprint)| (c, thumbprint, None)),
            ),
        };
        match result {
            Ok((client, certificate_thumbprint, single_use)) => Ok(AuthenticatedClient {
                client_id: client.client_id,
                scopes: client.scopes,
                audiences: client.audiences,
                grant_types: client.grant_types,
                access_token_ttl: client.access_token_ttl,
                certificate_thumbprint,
                introspect_any: client.introspect_any,
                single_use,
            }),
            Err(e) => {
                tracing::info!(
                    target: AUDIT,
                    event = "oauth_client_auth_failed",
                    client_id = presented.claimed_client_id().unwrap_or("-"),
                    method,
                    detail = %e,
                );
                if e.is_unavailable() {
                    Err(ClientAuthFailure::Unavailable(e.to_string()))
                } else {
                    Err(ClientAuthFailure::Invalid)
                }
            }
        }
    }

    async fn use_once(
        &self,
        client_id: &str,
        single_use: &SingleUse,
        now: std::time::SystemTime,
    ) -> Result<(), ClientAuthFailure> {
        self.remember(client_id, single_use, now).await
    }
}

impl<S, B> StoreClientAuthenticator<S, B>
where
    S: OAuthClientStore + Clone,
    B: TrustBundles,
{
    /// See [`ClientAuthenticator::use_once`].
    async fn remember(
        &self,
        client_id: &str,
        single_use: &SingleUse,
        now: std::time::SystemTime,
    ) -> Result<(), ClientAuthFailure> {
        let result = self
            .replay
            .check_and_remember(client_id, &single_use.jti, single_use.until, now)
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::info!(
                    target: AUDIT,
                    event = "oauth_client_auth_failed",
                    client_id,
                    method = "client_assertion",
                    detail = %e,
                );
                match e {
                    ReplayError::Replayed => Err(ClientAuthFailure::Invalid),
                    ReplayError::Store(_) => Err(ClientAuthFailure::Unavailable(e.to_string())),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
