//! [`Grants`]: starting, refreshing (rotation, reuse detection, lifetimes, live checks) and
//! revoking grants over the datastore.

use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;

use super::token::{hash, new_grant_id, new_token, plausible};
use super::{
    ActiveGrant, GrantError, GrantLifetimes, GrantStart, RefreshError, RefreshToken,
    RefreshTokenInfo,
};
use crate::datastore::{
    DatastoreError, GrantRecord, GrantStore, OAuthClientStore, RefreshReads, Rotation, UserRecord,
    UserStore,
};

/// Audit target (grant IDs, clients and users; never a token).
const AUDIT: &str = "tessera::audit";

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn active(g: GrantRecord) -> ActiveGrant {
    ActiveGrant {
        grant_id: g.grant_id,
        user_id: g.user_id,
        client_id: g.client_id,
        scopes: g.scopes,
        auth_time: g.auth_time,
        amr: g.amr,
    }
}

/// Grants and their refresh tokens (cheap to clone: the store is shared).
#[derive(Debug, Clone)]
pub struct Grants<S> {
    store: S,
    config: GrantLifetimes,
}

/// Why a refresh was refused, for the audit event.
fn refused(reason: &'static str, g: &GrantRecord, client_id: &str) {
    tracing::info!(
        target: AUDIT,
        event = "oauth_refresh",
        decision = "deny",
        reason,
        grant_id = %g.grant_id,
        client_id,
        user_id = %g.user_id,
    );
}

/// Deletes every grant of `user_id` (after the user was disabled or deleted) and logs it.
pub async fn revoke_user_grants<S: GrantStore>(
    store: &S,
    user_id: &str,
) -> Result<u64, GrantError> {
    let n = store.delete_user_grants(user_id).await?;
    tracing::info!(target: AUDIT, event = "oauth_grants_revoked", user_id, grants = n);
    Ok(n)
}

/// Deletes every grant of `client_id` (after the client was disabled or deleted) and logs it.
pub async fn revoke_client_grants<S: GrantStore>(
    store: &S,
    client_id: &str,
) -> Result<u64, GrantError> {
    let n = store.delete_client_grants(client_id).await?;
    tracing::info!(target: AUDIT, event = "oauth_grants_revoked", client_id, grants = n);
    Ok(n)
}

impl<S: GrantStore + OAuthClientStore + UserStore + RefreshReads + Clone> Grants<S> {
    /// Grants in `store` with `config` lifetimes.
    pub fn new(store: S, config: GrantLifetimes) -> Self {
        Self { store, config }
    }

    /// The configured lifetimes.
    pub fn lifetimes(&self) -> GrantLifetimes {
        self.config
    }

    /// Starts a grant; returns its ID and its first refresh token (durable when returned).
    pub async fn start(
        &self,
        start: GrantStart,
        now: SystemTime,
    ) -> Result<(String, RefreshToken), GrantError> {
        let now = unix_seconds(now);
        let token = new_token()?;
        let grant = GrantRecord {
            grant_id: new_grant_id()?,
            user_id: start.user_id,
            client_id: start.client_id,
            scopes: start.scopes,
            auth_time: start.auth_time,
            amr: start.amr,
            created_at: now,
            expires_at: now.saturating_add(secs(self.config.absolute)),
            generation: 0,
            rotated_at: now,
        };
        self.store
            .create_grant(&grant, &hash(token.expose()))
            .await?;
        tracing::info!(
            target: AUDIT,
            event = "oauth_grant_started",
            grant_id = %grant.grant_id,
            client_id = %grant.client_id,
            user_id = %grant.user_id,
            scope = %grant.scopes.join(" "),
        );
        Ok((grant.grant_id, token))
    }

    /// The grant of `presented` when it is the current token of `client_id` and within
    /// its lifetimes.
    async fn current(
        &self,
        client_id: &str,
        presented: &str,
        now: i64,
    ) -> Result<Option<GrantRecord>, GrantError> {
        if !plausible(presented) {
            return Ok(None);
        }
        let Some((token, Some(grant))) = self.store.find_refresh_token(&hash(presented)).await?
        else {
            return Ok(None);
        };
        let idle_end = grant.rotated_at.saturating_add(secs(self.config.idle));
        let current = grant.client_id == client_id
            && token.generation == grant.generation
            && now < grant.expires_at
            && now < idle_end;
        Ok(current.then_some(grant))
    }

    /// Whether the grant's user and client still exist and are enabled.
    async fn live(&self, grant: &GrantRecord) -> Result<Option<&'static str>, GrantError> {
        let user = self.store.get_user(&grant.user_id).await;
        self.live_with(grant, user).await
    }

    /// [`Self::live`] with the grant's user already read (a failed read fails here).
    async fn live_with(
        &self,
        grant: &GrantRecord,
        user: Result<Option<UserRecord>, DatastoreError>,
    ) -> Result<Option<&'static str>, GrantError> {
        if user?.is_none_or(|u| u.disabled) {
            return Ok(Some("user_disabled_or_deleted"));
        }
        let client = self.store.get_oauth_client(&grant.client_id).await?;
        if !client.is_some_and(|c| c.enabled) {
            return Ok(Some("client_disabled_or_deleted"));
        }
        Ok(None)
    }

    /// Exchanges `presented` (a refresh token of `client_id`) for a new one, rotating the
    /// family. The new token is durable before it is returned.
    pub async fn refresh(
        &self,
        client_id: &str,
        presented: &str,
        now: SystemTime,
    ) -> Result<(ActiveGrant, RefreshToken), RefreshError> {
        let now = unix_seconds(now);
        if !plausible(presented) {
            return Err(RefreshError::InvalidGrant);
        }
        let old_hash = hash(presented);
        // The token, its grant and the grant's user in one read (one round trip on
        // PostgreSQL); the user is checked once the token has passed.
        let found = self.store.find_refresh_token_and_user(&old_hash).await?;
        let Some((token, Some((grant, user)))) = found else {
            return Err(RefreshError::InvalidGrant);
        };
        // Another client's token is refused without touching the family: a client must
        // not be able to revoke another's grants.
        if grant.client_id != client_id {
            refused("other_client", &grant, client_id);
            return Err(RefreshError::InvalidGrant);
        }
        if token.generation > grant.generation {
            // Written by a rotation that lost its swap or was cut short by a crash: never
            // handed out.
            refused("not_issued", &grant, client_id);
            return Err(RefreshError::InvalidGrant);
        }
        if token.generation < grant.generation {
            self.store.delete_grant(&grant.grant_id).await?;
            tracing::warn!(
                target: AUDIT,
                event = "oauth_refresh",
                decision = "deny",
                reason = "reuse_detected",
                grant_id = %grant.grant_id,
                client_id,
                user_id = %grant.user_id,
                presented_generation = token.generation,
                current_generation = grant.generation,
            );
            return Err(RefreshError::ReuseDetected);
        }
        if now >= grant.expires_at {
            refused("absolute_lifetime_expired", &grant, client_id);
            self.store.delete_grant(&grant.grant_id).await?;
            return Err(RefreshError::InvalidGrant);
        }
        if now >= grant.rotated_at.saturating_add(secs(self.config.idle)) {
            refused("idle_lifetime_expired", &grant, client_id);
            self.store.delete_grant(&grant.grant_id).await?;
            return Err(RefreshError::InvalidGrant);
        }
        if let Some(reason) = self.live_with(&grant, user).await? {
            refused(reason, &grant, client_id);
            return Err(RefreshError::InvalidGrant);
        }
        let new = new_token()?;
        let new_hash = hash(new.expose());
        let rotation = Rotation {
            grant_id: &grant.grant_id,
            old_hash: &old_hash,
            expected_generation: token.generation,
            new_hash: &new_hash,
            now,
        };
        match self.store.rotate_refresh_token(&rotation).await? {
            Some(rotated) => Ok((active(rotated), new)),
            None => {
                // A concurrent refresh (or a revocation) came first: not reuse.
                refused("lost_concurrent_refresh", &grant, client_id);
                Err(RefreshError::InvalidGrant)
            }
        }
    }

    /// The grant of `presented` when it is a current, unexpired token of `client_id`
    /// (introspection: never counts as a use, never triggers reuse detection).
    pub async fn inspect(
        &self,
        client_id: &str,
        presented: &str,
        now: SystemTime,
    ) -> Result<Option<RefreshTokenInfo>, GrantError> {
        let Some(grant) = self
            .current(client_id, presented, unix_seconds(now))
            .await?
        else {
            return Ok(None);
        };
        if self.live(&grant).await?.is_some() {
            return Ok(None);
        }
        let expires_at = grant.expires_at;
        Ok(Some(RefreshTokenInfo {
            grant: active(grant),
            expires_at,
        }))
    }

    /// RFC 7009: when `presented` is a refresh token (current or rotated) of `client_id`,
    /// revokes its whole grant and returns `true`; anything else is left alone (`false`).
    pub async fn revoke_token(
        &self,
        client_id: &str,
        presented: &str,
        now: SystemTime,
    ) -> Result<bool, GrantError> {
        let _ = now;
        if !plausible(presented) {
            return Ok(false);
        }
        let Some((_, Some(grant))) = self.store.find_refresh_token(&hash(presented)).await? else {
            return Ok(false);
        };
        if grant.client_id != client_id {
            return Ok(false);
        }
        let revoked = self.store.delete_grant(&grant.grant_id).await?;
        tracing::info!(
            target: AUDIT,
            event = "oauth_grant_revoked",
            grant_id = %grant.grant_id,
            client_id,
            user_id = %grant.user_id,
        );
        Ok(revoked)
    }

    /// Revokes one grant (e.g. when its authorization code is replayed).
    pub async fn revoke_grant(&self, grant_id: &str) -> Result<(), GrantError> {
        if self.store.delete_grant(grant_id).await? {
            tracing::info!(target: AUDIT, event = "oauth_grant_revoked", grant_id);
        }
        Ok(())
    }

    /// Revokes every grant of a user.
    pub async fn revoke_user(&self, user_id: &str) -> Result<u64, GrantError> {
        revoke_user_grants(&self.store, user_id).await
    }

    /// Revokes every grant of a client.
    pub async fn revoke_client(&self, client_id: &str) -> Result<u64, GrantError> {
        revoke_client_grants(&self.store, client_id).await
    }
}

impl<S: GrantStore + Clone> crate::prune::Prune for Grants<S> {
    const WHAT: &'static str = "refresh-token grants";

    /// Deletes the grants that have ended (absolute or idle lifetime) with their hashes.
    async fn prune(&self, now: SystemTime) -> Result<u64, String> {
        self.store
            .prune_grants(unix_seconds(now), secs(self.config.idle))
            .await
            .map_err(|e| e.to_string())
    }
}
