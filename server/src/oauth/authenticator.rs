//! The client store as the token endpoint's client authenticator.

use std::time::SystemTime;

use super::clients::{ClientAuthError, authenticate_secret};
use super::http::{AuthenticatedClient, ClientAuthFailure, ClientAuthenticator};
use crate::datastore::OAuthClientStore;

/// Authenticates `client_secret_basic` / `client_secret_post` callers against the store.
#[derive(Debug, Clone)]
pub struct StoreClientAuthenticator<S> {
    store: S,
}

impl<S> StoreClientAuthenticator<S> {
    /// An authenticator over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: OAuthClientStore + Clone> ClientAuthenticator for StoreClientAuthenticator<S> {
    async fn authenticate_secret(
        &self,
        client_id: &str,
        secret: &str,
        now: SystemTime,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        match authenticate_secret(&self.store, client_id, secret, now).await {
            Ok(client) => Ok(AuthenticatedClient {
                client_id: client.client_id,
                scopes: client.scopes,
                audiences: client.audiences,
                grant_types: client.grant_types,
                access_token_ttl: client.access_token_ttl,
            }),
            Err(ClientAuthError::Datastore(e)) => {
                Err(ClientAuthFailure::Unavailable(e.to_string()))
            }
            Err(_) => Err(ClientAuthFailure::Invalid),
        }
    }
}
