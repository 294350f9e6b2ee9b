//! Account management: create, look up, change, delete; passwords and TOTP secrets.
//!
//! Fields are validated before any hashing; passwords are hashed on the blocking pool; the
//! TOTP secret is sealed with the server's seal key (the CA's [`Sealer`], AES-256-GCM,
//! bound to the user ID) before it reaches the datastore.

use std::sync::Arc;

use tessera_proto::clock::{Clock, unix_seconds};
use zeroize::Zeroizing;

use super::{
    Argon2Settings, LoginGuard, Password, Passwords, TotpSecret, UserError, display_name, email,
    new_user_id, username_key,
};
use crate::ca::Sealer;
use crate::datastore::{DatastoreError, GrantStore, LoginCounters, Page, UserRecord, UserStore};

/// How often a write lost to a concurrent one is retried.
const WRITE_ATTEMPTS: usize = 5;

/// The profile of a new account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Username (case-insensitive unique).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// E-mail address.
    pub email: String,
}

/// The operator-editable fields of an account (each replaces the stored value).
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// Username (renaming keeps the ID).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// E-mail address.
    pub email: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// `false` removes a TOTP secret; `true` keeps it (only `enable_totp` creates one).
    pub totp_enabled: bool,
}

/// The user accounts of a server.
#[derive(Debug, Clone)]
pub struct Accounts<S> {
    pub(super) store: S,
    pub(super) sealer: Arc<Sealer>,
    pub(super) passwords: Passwords,
    pub(super) guard: LoginGuard,
    pub(super) clock: Arc<dyn Clock>,
}

/// The sealing context of a user's TOTP secret: a sealed secret only opens for its user.
pub(super) fn totp_context(user_id: &str) -> String {
    format!("user-totp:{user_id}")
}

fn internal(what: &str) -> impl Fn(crate::ca::CaError) -> UserError + '_ {
    move |e| UserError::Internal(format!("{what}: {e}"))
}

impl<S: UserStore> Accounts<S> {
    /// Accounts in `store`, sealing TOTP secrets with `sealer`, hashing with `argon2`,
    /// throttling sign-ins with `guard`, reading time from `clock`.
    pub fn new(
        store: S,
        sealer: Arc<Sealer>,
        argon2: Argon2Settings,
        guard: LoginGuard,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            sealer,
            passwords: Passwords::new(argon2),
            guard,
            clock,
        }
    }

    /// The accounts of `tenant`: the same settings on the tenant's store, with sign-in
    /// throttling of their own.
    pub fn for_tenant(&self, tenant: &crate::datastore::TenantId) -> Result<Self, DatastoreError>
    where
        S: crate::datastore::TenantScope,
    {
        Ok(Self {
            store: self.store.for_tenant(tenant)?,
            sealer: Arc::clone(&self.sealer),
            passwords: self.passwords.clone(),
            guard: self.guard.apart(),
            clock: Arc::clone(&self.clock),
        })
    }

    /// The datastore (e.g. to end an account's grants when it is disabled or deleted).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Creates an account. Every field (and the password's length) is checked before the
    /// password is hashed.
    pub async fn create(&self, new: NewUser, password: Password) -> Result<UserRecord, UserError> {
        let key = username_key(&new.username)?;
        display_name(&new.display_name)?;
        email(&new.email)?;
        let id = new_user_id()?;
        let password_hash = self.passwords.hash(Arc::new(password)).await?;
        let now = unix_seconds(self.clock.now());
        let record = UserRecord {
            id,
            username: new.username,
            username_key: key,
            display_name: new.display_name,
            email: new.email,
            password_hash,
            totp: None,
            totp_last_step: 0,
            disabled: false,
            login: LoginCounters::default(),
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        Ok(self.store.create_user(&record).await?)
    }

    /// The account whose ID or (case-insensitive) username is `user`.
    pub async fn find(&self, user: &str) -> Result<UserRecord, UserError> {
        if user.is_empty() {
            return Err(UserError::Invalid {
                field: "user",
                reason: "required (an ID or a username)".into(),
            });
        }
        if let Some(found) = self.store.get_user(user).await? {
            return Ok(found);
        }
        let by_name = match username_key(user) {
            Ok(key) => self.store.get_user_by_username(&key).await?,
            Err(_) => None,
        };
        by_name.ok_or_else(|| UserError::NotFound(user.to_string()))
    }

    /// One page of accounts, ordered by ID.
    pub async fn list(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<UserRecord>, UserError> {
        Ok(self.store.list_users(page_token, page_size).await?)
    }

    /// Reads the account `id`, applies `change`, stamps `updated_at` and writes it back,
    /// retrying when a concurrent write got there first.
    pub(super) async fn modify(
        &self,
        id: &str,
        change: impl Fn(&mut UserRecord) -> Result<(), UserError>,
    ) -> Result<UserRecord, UserError> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut user = self
                .store
                .get_user(id)
                .await?
                .ok_or_else(|| UserError::NotFound(id.to_string()))?;
            change(&mut user)?;
            user.updated_at = unix_seconds(self.clock.now());
            match self.store.update_user(&user).await {
                Err(DatastoreError::Conflict(_)) => continue,
                Err(DatastoreError::NotFound(_)) => return Err(UserError::NotFound(id.into())),
                other => return Ok(other?),
            }
        }
        Err(UserError::Datastore(DatastoreError::Conflict(format!(
            "user {id} kept changing; retry"
        ))))
    }

    /// Replaces the editable fields of account `id`.
    pub async fn update(&self, id: &str, changes: UserChanges) -> Result<UserRecord, UserError> {
        let key = username_key(&changes.username)?;
        display_name(&changes.display_name)?;
        email(&changes.email)?;
        self.modify(id, |user| {
            user.username.clone_from(&changes.username);
            user.username_key.clone_from(&key);
            user.display_name.clone_from(&changes.display_name);
            user.email.clone_from(&changes.email);
            user.disabled = changes.disabled;
            if !changes.totp_enabled {
                user.totp = None;
                user.totp_last_step = 0;
            }
            Ok(())
        })
        .await
    }

    /// Disables or enables the account `user` (ID or username).
    pub async fn set_disabled(&self, user: &str, disabled: bool) -> Result<UserRecord, UserError> {
        let id = self.find(user).await?.id;
        self.modify(&id, |u| {
            u.disabled = disabled;
            Ok(())
        })
        .await
    }

    /// Gives `user` a new TOTP secret (replacing any previous one) and returns the
    /// `otpauth://` provisioning URI: the only time the secret leaves the server.
    pub async fn enable_totp(
        &self,
        user: &str,
    ) -> Result<(UserRecord, Zeroizing<String>), UserError> {
        let found = self.find(user).await?;
        let secret = TotpSecret::generate()?;
        let sealed = self
            .sealer
            .seal(secret.bytes(), &totp_context(&found.id))
            .map_err(internal("sealing a TOTP secret"))?;
        let updated = self
            .modify(&found.id, |u| {
                u.totp = Some(sealed.clone());
                u.totp_last_step = 0;
                Ok(())
            })
            .await?;
        let uri = secret.provisioning_uri(&updated.username);
        Ok((updated, uri))
    }

    /// Deletes the account `user`; returns what was deleted.
    pub async fn delete(&self, user: &str) -> Result<UserRecord, UserError> {
        let id = self.find(user).await?.id;
        self.store
            .delete_user(&id)
            .await?
            .ok_or(UserError::NotFound(id))
    }

    /// The TOTP secret of `user`, unsealed; `None` when TOTP is off.
    pub(super) fn totp_secret(&self, user: &UserRecord) -> Result<Option<TotpSecret>, UserError> {
        user.totp
            .as_ref()
            .map(|sealed| {
                self.sealer
                    .unseal(sealed, &totp_context(&user.id))
                    .map(TotpSecret::from_bytes)
                    .map_err(internal("unsealing a TOTP secret"))
            })
            .transpose()
    }
}

impl<S: UserStore + GrantStore> Accounts<S> {
    /// Replaces the password of `user`; also lifts a login lock-out, and ends what the old
    /// password started: every refresh-token grant of the account is revoked here, and its
    /// browser sessions end at their next step (the account's credential stamp changed).
    /// A failure to revoke the grants is returned: the password is changed, and the
    /// operator retries.
    pub async fn set_password(
        &self,
        user: &str,
        password: Password,
    ) -> Result<UserRecord, UserError> {
        let found = self.find(user).await?;
        let hash = self.passwords.hash(Arc::new(password)).await?;
        let changed = self
            .modify(&found.id, |u| {
                u.password_hash.clone_from(&hash);
                u.login = LoginCounters::default();
                Ok(())
            })
            .await?;
        self.guard.record_success(&found.username_key);
        self.guard.record_success(&changed.username_key);
        crate::oauth::grants::revoke_user_grants(&self.store, &changed.id)
            .await
            .map_err(|e| UserError::Internal(format!("revoking the account's grants: {e}")))?;
        Ok(changed)
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
