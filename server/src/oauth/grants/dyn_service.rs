//! [`GrantService`]: [`Grants`] as a trait object, so the HTTP server holds it without
//! naming the datastore type.

use std::time::SystemTime;

use super::{
    ActiveGrant, GrantError, GrantStart, Grants, RefreshError, RefreshToken, RefreshTokenInfo,
};
use crate::datastore::{GrantStore, OAuthClientStore, RefreshReads, UserStore};

pub use crate::oauth::BoxFuture;

/// [`Grants`] as a trait object, so the HTTP server holds it without naming the datastore.
/// Same methods, same meaning.
pub trait GrantService: Send + Sync + 'static {
    /// [`Grants::start`].
    fn start(
        &self,
        start: GrantStart,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<(String, RefreshToken), GrantError>>;
    /// [`Grants::refresh`].
    fn refresh<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(ActiveGrant, RefreshToken), RefreshError>>;
    /// [`Grants::inspect`].
    fn inspect<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<RefreshTokenInfo>, GrantError>>;
    /// [`Grants::revoke_token`].
    fn revoke_token<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, GrantError>>;
    /// [`Grants::revoke_grant`].
    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> BoxFuture<'a, Result<(), GrantError>>;
    /// [`Grants::revoke_user`].
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, GrantError>>;
    /// [`Grants::revoke_client`].
    fn revoke_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, Result<u64, GrantError>>;
}

impl<S: GrantStore + OAuthClientStore + UserStore + RefreshReads + Clone> GrantService
    for Grants<S>
{
    fn start(
        &self,
        start: GrantStart,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<(String, RefreshToken), GrantError>> {
        Box::pin(Grants::start(self, start, now))
    }
    fn refresh<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(ActiveGrant, RefreshToken), RefreshError>> {
        Box::pin(Grants::refresh(self, client_id, presented, now))
    }
    fn inspect<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<RefreshTokenInfo>, GrantError>> {
        Box::pin(Grants::inspect(self, client_id, presented, now))
    }
    fn revoke_token<'a>(
        &'a self,
        client_id: &'a str,
        presented: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, GrantError>> {
        Box::pin(Grants::revoke_token(self, client_id, presented, now))
    }
    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> BoxFuture<'a, Result<(), GrantError>> {
        Box::pin(Grants::revoke_grant(self, grant_id))
    }
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, GrantError>> {
        Box::pin(Grants::revoke_user(self, user_id))
    }
    fn revoke_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, Result<u64, GrantError>> {
        Box::pin(Grants::revoke_client(self, client_id))
    }
}
