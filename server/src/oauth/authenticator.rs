//! The client store as the token endpoint's client authenticator.

use super::clients::{ClientAuthError, authenticate_secret};
use super::http::{
    AuthContext, AuthenticatedClient, ClientAuthFailure, ClientAuthenticator, PresentedCredentials,
};
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
    async fn authenticate(
        &self,
        presented: &PresentedCredentials,
        context: &AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthFailure> {
        let PresentedCredentials::Secret { client_id, secret } = presented else {
            return Err(ClientAuthFailure::Invalid);
        };
        match authenticate_secret(&self.store, client_id, secret, context.now).await {
            Ok(client) => Ok(AuthenticatedClient {
                client_id: client.client_id,
                scopes: client.scopes,
                audiences: client.audiences,
                grant_types: client.grant_types,
                access_token_ttl: client.access_token_ttl,
                certificate_thumbprint: None,
            }),
            Err(ClientAuthError::Datastore(e)) => {
                Err(ClientAuthFailure::Unavailable(e.to_string()))
            }
            Err(_) => Err(ClientAuthFailure::Invalid),
        }
    }
}
