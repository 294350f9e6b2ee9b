//! Client lookup and secret authentication for the token endpoint.

use std::time::SystemTime;

use super::certificate::CertificateError;
use super::jws::AssertionError;
use super::model::{AuthMethod, Client};
use super::replay::ReplayError;
use super::secret::verify_secret;
use crate::datastore::{DatastoreError, OAuthClientStore};

/// Why client authentication failed. Every variant but [`Self::Datastore`],
/// [`Self::Bundles`] and a full replay cache is answered as `invalid_client`; the variants
/// exist for the log and the audit trail only.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// No client has this ID.
    #[error("unknown client")]
    UnknownClient,
    /// The secret matches neither the current nor a still-valid previous secret.
    #[error("wrong client secret")]
    WrongSecret,
    /// The client exists but is disabled.
    #[error("client disabled")]
    Disabled,
    /// The client does not authenticate with a secret (e.g. `private_key_jwt`).
    #[error("client does not use a client secret")]
    NotSecretClient,
    /// The client is registered for another method than the one used (e.g. a secret for a
    /// `private_key_jwt` client, a JWT-SVID for a `tls_client_auth` client).
    #[error("client is registered for {registered}, not {used}")]
    MethodMismatch {
        /// The registered method.
        registered: AuthMethod,
        /// The method the request used.
        used: &'static str,
    },
    /// A `spiffe_jwt` assertion came without the `client_id` parameter.
    #[error("a JWT-SVID assertion needs the client_id parameter")]
    MissingClientId,
    /// The client assertion was refused.
    #[error(transparent)]
    Assertion(#[from] AssertionError),
    /// The client certificate was refused.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The assertion's `jti` was already used (or could not be recorded).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The trust bundles could not be read.
    #[error("trust bundles unavailable: {0}")]
    Bundles(String),
    /// The datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
}

impl ClientAuthError {
    /// The RFC 6749 §5.2 error code to answer with.
    pub fn oauth_error(&self) -> &'static str {
        if self.is_unavailable() {
            "server_error"
        } else {
            "invalid_client"
        }
    }

    /// Whether the failure is the server's (store, bundles, replay records), not the
    /// client's credentials.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Datastore(_) | Self::Bundles(_) | Self::Replay(ReplayError::Store(_))
        )
    }
}

/// One client by ID; a stored record that no longer validates is reported as corrupt.
pub async fn get_client<S: OAuthClientStore>(
    store: &S,
    client_id: &str,
) -> Result<Option<Client>, DatastoreError> {
    store
        .get_oauth_client(client_id)
        .await?
        .map(|c| {
            Client::from_proto(c).map_err(|e| {
                DatastoreError::Corrupt(format!("stored OAuth client {client_id}: {e}"))
            })
        })
        .transpose()
}

/// Authenticates `client_id` with `secret` at `now` (`client_secret_basic` / `_post`).
///
/// The presented secret is hashed and compared in constant time whether or not the client
/// exists, is disabled or uses secrets at all.
pub async fn authenticate_secret<S: OAuthClientStore>(
    store: &S,
    client_id: &str,
    secret: &str,
    now: SystemTime,
) -> Result<Client, ClientAuthError> {
    // Both lookups happen for unknown clients too, and the secret is compared whether or
    // not the client exists. (On PostgreSQL a busy client is served from the replica's
    // cache, so its lookups can be faster than an unknown ID's: client IDs are not secrets,
    // RFC 6749 §2.2; the secret comparison stays constant-time.)
    let client = get_client(store, client_id).await?;
    let record = store.get_client_secret(client_id).await?;
    let matches = verify_secret(record.as_ref(), secret, now);
    let Some(client) = client else {
        return Err(ClientAuthError::UnknownClient);
    };
    if !client.auth_method.uses_secret() {
        return Err(ClientAuthError::NotSecretClient);
    }
    if !matches {
        return Err(ClientAuthError::WrongSecret);
    }
    if !client.enabled {
        return Err(ClientAuthError::Disabled);
    }
    Ok(client)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use tessera_proto::wire::tessera::admin::v1::OAuthClient;

    use super::super::secret::{ClientSecret, HASHES, new_secret_record, rotate_secret_record};
    use super::*;
    use crate::datastore::memory::MemoryStore;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn wire(id: &str, method: &str) -> OAuthClient {
        OAuthClient {
            client_id: id.into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: method.into(),
            jwks: if method == "private_key_jwt" {
                r#"{"keys":[{"kty":"EC"}]}"#.into()
            } else {
                String::new()
            },
            enabled: true,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn authenticate_distinguishes_failures_internally() {
        let store = MemoryStore::default();
        let secret = ClientSecret::generate().unwrap();
        store
            .create_oauth_client(
                &wire("svc", "client_secret_basic"),
                Some(&new_secret_record(&secret)),
            )
            .await
            .unwrap();
        let ok = authenticate_secret(&store, "svc", secret.expose(), at(10))
            .await
            .unwrap();
        assert_eq!(ok.client_id, "svc");

        let wrong = authenticate_secret(&store, "svc", "nope", at(10)).await;
        assert!(
            matches!(wrong, Err(ClientAuthError::WrongSecret)),
            "{wrong:?}"
        );

        let before = HASHES.with(std::cell::Cell::get);
        let unknown = authenticate_secret(&store, "ghost", secret.expose(), at(10)).await;
        assert!(matches!(unknown, Err(ClientAuthError::UnknownClient)));
        assert_eq!(
            HASHES.with(std::cell::Cell::get),
            before + 1,
            "an unknown client still costs a hash"
        );

        let mut disabled = wire("svc", "client_secret_basic");
        disabled.enabled = false;
        store.update_oauth_client(&disabled).await.unwrap();
        let off = authenticate_secret(&store, "svc", secret.expose(), at(10)).await;
        assert!(matches!(off, Err(ClientAuthError::Disabled)));

        store
            .create_oauth_client(&wire("jwt", "private_key_jwt"), None)
            .await
            .unwrap();
        let no = authenticate_secret(&store, "jwt", "x", at(10)).await;
        assert!(matches!(no, Err(ClientAuthError::NotSecretClient)));
        for e in [
            ClientAuthError::UnknownClient,
            ClientAuthError::WrongSecret,
            ClientAuthError::Disabled,
            ClientAuthError::NotSecretClient,
        ] {
            assert_eq!(e.oauth_error(), "invalid_client");
        }
    }

    #[tokio::test]
    async fn rotated_secret_grace_applies_to_authentication() {
        let store = MemoryStore::default();
        let old = ClientSecret::generate().unwrap();
        let client = wire("svc", "client_secret_post");
        store
            .create_oauth_client(&client, Some(&new_secret_record(&old)))
            .await
            .unwrap();
        let new = ClientSecret::generate().unwrap();
        let record = rotate_secret_record(
            store.get_client_secret("svc").await.unwrap().as_ref(),
            &new,
            at(100),
            Duration::from_secs(30),
        );
        store.put_client_secret(&client, &record).await.unwrap();
        assert!(
            authenticate_secret(&store, "svc", old.expose(), at(129))
                .await
                .is_ok()
        );
        assert!(
            authenticate_secret(&store, "svc", new.expose(), at(129))
                .await
                .is_ok()
        );
        assert!(matches!(
            authenticate_secret(&store, "svc", old.expose(), at(130)).await,
            Err(ClientAuthError::WrongSecret)
        ));
        assert_eq!(
            get_client(&store, "svc").await.unwrap().unwrap().client_id,
            "svc"
        );
        assert!(get_client(&store, "nobody").await.unwrap().is_none());
    }
}
