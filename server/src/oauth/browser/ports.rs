//! The small traits the browser flows need: signing users in, looking clients up and
//! remembering consent.
//! Object-safe (boxed futures) so [`super::BrowserFlows`] is not generic.

use std::net::IpAddr;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use zeroize::Zeroizing;

use crate::datastore::{ConsentStore, ConsentWrite, OAuthClientStore, ScopeUpdate, UserStore};
use crate::oauth::clients::{Client, get_client};
use crate::users::{Accounts, Authenticated, LoginError};

pub use crate::oauth::BoxFuture;

/// Signs users in (password, then TOTP); throttling is the implementation's duty.
pub trait UserLogin: Send + Sync + 'static {
    /// Checks `username` + `password` from `source`.
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: Zeroizing<String>,
        source: IpAddr,
    ) -> BoxFuture<'a, Result<Authenticated, LoginError>>;

    /// Checks the TOTP `code` of `user_id` after a password match.
    fn verify_second_factor<'a>(
        &'a self,
        user_id: &'a str,
        code: &'a str,
        source: IpAddr,
    ) -> BoxFuture<'a, Result<(), LoginError>>;

    /// The credential stamp of `user_id` (changes with its password) while the account
    /// exists and is enabled; `None` once it was disabled or deleted. Every browser step
    /// of a signed-in session compares it with the stamp taken at sign-in.
    fn account_stamp<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, LoginError>>;
}

impl<S: UserStore + Clone> UserLogin for Accounts<S> {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: Zeroizing<String>,
        source: IpAddr,
    ) -> BoxFuture<'a, Result<Authenticated, LoginError>> {
        Box::pin(Accounts::authenticate(self, username, password, source))
    }

    fn verify_second_factor<'a>(
        &'a self,
        user_id: &'a str,
        code: &'a str,
        source: IpAddr,
    ) -> BoxFuture<'a, Result<(), LoginError>> {
        Box::pin(Accounts::verify_second_factor(self, user_id, code, source))
    }

    fn account_stamp<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, LoginError>> {
        Box::pin(Accounts::account_stamp(self, user_id))
    }
}

/// Looks registered clients up. The error string is logged, never shown.
pub trait ClientDirectory: Send + Sync + 'static {
    /// The client `client_id`, if registered.
    fn client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, Result<Option<Client>, String>>;
}

/// A [`ClientDirectory`] over the datastore.
#[derive(Debug, Clone)]
pub struct StoreClients<S>(pub S);

impl<S: OAuthClientStore> ClientDirectory for StoreClients<S> {
    fn client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, Result<Option<Client>, String>> {
        Box::pin(async move {
            get_client(&self.0, client_id)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Remembered consent per (user, client). The error string is logged, never shown.
pub trait ConsentMemory: Send + Sync + 'static {
    /// The scopes `user_id` approved for `client_id` (`None`: never asked or approved).
    fn approved<'a>(
        &'a self,
        user_id: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, String>>;

    /// Adds `scopes` to those `user_id` approved for `client_id`.
    fn approve<'a>(
        &'a self,
        user_id: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// A [`ConsentMemory`] over the datastore.
#[derive(Debug, Clone)]
pub struct StoreConsents<S>(pub S);

impl<S: ConsentStore> ConsentMemory for StoreConsents<S> {
    fn approved<'a>(
        &'a self,
        user_id: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, String>> {
        Box::pin(async move {
            let record = self.0.get_consent(user_id, client_id).await;
            let record = record.map_err(|e| e.to_string())?;
            Ok(record.map(|r| r.scopes.into_iter().collect()))
        })
    }

    fn approve<'a>(
        &'a self,
        user_id: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let write = ConsentWrite {
                user_id,
                client_id,
                scopes,
                update: ScopeUpdate::Merge,
                now: unix_seconds(now),
            };
            self.0
                .put_consent(&write)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}
