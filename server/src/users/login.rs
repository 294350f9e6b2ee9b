//! Sign-in: password (then TOTP when enabled) under login throttling.
//!
//! An unknown username, a wrong password and a disabled account all cost one Argon2
//! verification and get the same [`LoginError::InvalidCredentials`]; throttling answers
//! have the same shape for every username. A password match for an account with TOTP
//! does not clear its failure counters: only the second factor completes a sign-in, so
//! knowing the password does not buy unthrottled code guesses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use super::{Accounts, LoginError, Password, UserError, username_key, verify_totp};
use crate::datastore::{UserRecord, UserStore};

/// A password sign-in that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account's opaque ID (the `sub` of its tokens).
    pub user_id: String,
    /// `true`: the sign-in is complete only after [`Accounts::verify_second_factor`].
    pub totp_required: bool,
}

/// Longest username key kept for throttling an unknown (invalid) username.
const MAX_KEY: usize = 256;

fn internal(e: UserError) -> LoginError {
    tracing::error!(error = %e, "sign-in failed internally");
    LoginError::Internal(e.to_string())
}

impl<S: UserStore + Clone> Accounts<S> {
    /// Checks `username` + `password` from `source`.
    pub async fn authenticate(
        &self,
        username: &str,
        password: Zeroizing<String>,
        source: IpAddr,
    ) -> Result<Authenticated, LoginError> {
        let now = self.clock.now();
        let key = username_key(username).unwrap_or_else(|_| {
            let mut k = username.to_lowercase();
            k.truncate(k.floor_char_boundary(MAX_KEY));
            k
        });
        let user = self
            .store
            .get_user_by_username(&key)
            .await
            .map_err(|e| internal(e.into()))?;
        let _permit = self
            .guard
            .check(&key, user.as_ref().map(|u| &u.login), source, now)
            .map_err(LoginError::Throttled)?;
        let verified = match Password::new(password) {
            Ok(candidate) => Some(
                self.passwords
                    .verify(
                        user.as_ref().map(|u| u.password_hash.clone()),
                        Arc::new(candidate),
                    )
                    .await
                    .map_err(internal)?,
            ),
            // Outside the length limits: nothing to hash, and never a match.
            Err(_) => None,
        };
        let ok = verified.as_ref().is_some_and(|v| v.ok);
        let user = match user {
            Some(u) if ok && !u.disabled => u,
            other => {
                self.failed(&key, other, source, now);
                return Err(LoginError::InvalidCredentials);
            }
        };
        let rehash = verified.and_then(|v| v.rehash);
        let totp_required = user.totp.is_some();
        let cleared = if totp_required {
            user.login
        } else {
            self.guard.record_success(&key)
        };
        if rehash.is_some() || cleared != user.login {
            let result = self
                .modify(&user.id, |u| {
                    if let Some(h) = &rehash {
                        u.password_hash.clone_from(h);
                    }
                    u.login = cleared;
                    Ok(())
                })
                .await;
            result.map_err(internal)?;
        }
        if !totp_required {
            audit_success(&user, "password");
        }
        Ok(Authenticated {
            user_id: user.id,
            totp_required,
        })
    }

    /// Checks the TOTP `code` of `user_id` (after [`Accounts::authenticate`] said
    /// `totp_required`). A code's time step is accepted once.
    pub async fn verify_second_factor(
        &self,
        user_id: &str,
        code: &str,
        source: IpAddr,
    ) -> Result<(), LoginError> {
        let now = self.clock.now();
        let user = self
            .store
            .get_user(user_id)
            .await
            .map_err(|e| internal(e.into()))?
            .ok_or(LoginError::InvalidCredentials)?;
        let _permit = self
            .guard
            .check(&user.username_key, Some(&user.login), source, now)
            .map_err(LoginError::Throttled)?;
        let secret = self.totp_secret(&user).map_err(internal)?;
        let step = secret
            .as_ref()
            .and_then(|s| verify_totp(s, code, unix_seconds(now), user.totp_last_step));
        let Some(step) = step.filter(|_| !user.disabled) else {
            let key = user.username_key.clone();
            self.failed(&key, Some(user), source, now);
            return Err(LoginError::InvalidCredentials);
        };
        let cleared = self.guard.record_success(&user.username_key);
        let stored = self
            .modify(&user.id, |u| {
                // A concurrent sign-in may have used this step meanwhile.
                if u.totp_last_step >= step {
                    return Err(UserError::Invalid {
                        field: "code",
                        reason: "already used".into(),
                    });
                }
                u.totp_last_step = step;
                u.login = cleared;
                Ok(())
            })
            .await;
        match stored {
            Ok(user) => {
                audit_success(&user, "password+totp");
                Ok(())
            }
            Err(UserError::Invalid { .. }) => Err(LoginError::InvalidCredentials),
            Err(e) => Err(internal(e)),
        }
    }

    /// The credential stamp of `user_id` when the account exists and is enabled; `None`
    /// when it was deleted or disabled. The stamp is a digest of the stored password hash:
    /// it changes when the password is replaced (`set-password`), so a browser session
    /// remembering an older stamp has ended. Read at every browser step.
    pub async fn account_stamp(&self, user_id: &str) -> Result<Option<String>, LoginError> {
        let user = self
            .store
            .get_user(user_id)
            .await
            .map_err(|e| internal(e.into()))?;
        Ok(user
            .filter(|u| !u.disabled)
            .map(|u| credential_stamp(&u.password_hash)))
    }

    /// Records a failure with the guard (the source's bucket, the username's counters).
    /// An existing account's new counters are stored in the background: the answer does
    /// not wait for a datastore write an unknown username would not make, so timing does
    /// not tell them apart.
    fn failed(&self, key: &str, user: Option<UserRecord>, source: IpAddr, now: SystemTime) {
        let counters = self
            .guard
            .record_failure(key, user.as_ref().map(|u| &u.login), source, now);
        let Some(user) = user else {
            tracing::info!(target: "tessera::audit", event = "login_failed", known_user = false, %source);
            return;
        };
        tracing::info!(
            target: "tessera::audit",
            event = "login_failed",
            known_user = true,
            user_id = %user.id,
            failures = counters.failures,
            %source,
        );
        let accounts = self.clone();
        tokio::spawn(async move {
            let result = accounts
                .modify(&user.id, |u| {
                    if (counters.failures, counters.locked_until)
                        > (u.login.failures, u.login.locked_until)
                    {
                        u.login = counters;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, user_id = %user.id, "storing failed sign-in counters");
            }
        });
    }
}

/// A digest of a password hash (PHC string, salted: a new password always gives a new
/// stamp). Not secret, but never the hash itself.
pub(super) fn credential_stamp(password_hash: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password_hash.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn audit_success(user: &UserRecord, method: &str) {
    tracing::info!(
        target: "tessera::audit",
        event = "login_succeeded",
        user_id = %user.id,
        method,
    );
}
