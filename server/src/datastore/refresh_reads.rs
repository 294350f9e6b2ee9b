//! [`RefreshReads`]: what a `refresh_token` grant reads before it rotates, in one call.

use std::future::Future;

use super::{DatastoreError, GrantRecord, GrantStore, RefreshTokenRecord, UserRecord, UserStore};

/// A refresh token, its grant while the grant exists, and the grant's user while the user
/// exists. Reading the user may fail apart from the rest (a record that does not decode):
/// the caller meets that failure where it checks the user, after the token's own checks,
/// so a reused token still revokes its family.
pub type RefreshRead = (
    RefreshTokenRecord,
    Option<(GrantRecord, Result<Option<UserRecord>, DatastoreError>)>,
);

/// The reads of a refresh: the token with its grant ([`GrantStore::find_refresh_token`])
/// and the grant's user ([`UserStore::get_user`]). The default makes the two calls;
/// PostgreSQL answers both in one round trip.
pub trait RefreshReads: GrantStore + UserStore {
    /// The token with this hash, its grant and the grant's user (`None` when the token is
    /// unknown).
    fn find_refresh_token_and_user(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<RefreshRead>, DatastoreError>> + Send {
        async move {
            let Some((token, grant)) = self.find_refresh_token(token_hash).await? else {
                return Ok(None);
            };
            let Some(grant) = grant else {
                return Ok(Some((token, None)));
            };
            let user = self.get_user(&grant.user_id).await;
            Ok(Some((token, Some((grant, user)))))
        }
    }
}
