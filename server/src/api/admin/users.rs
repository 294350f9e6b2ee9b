//! `tessera.admin.v1.Users`: user accounts. Passwords arrive in requests only, are length
//! checked before hashing and never logged or echoed; the TOTP provisioning URI is
//! returned once by `EnableTotp`. Every change is an audit event (`tessera::audit`).

use tessera_proto::wire::tessera::admin::v1::users_server::Users;
use tessera_proto::wire::tessera::admin::v1::{
    CreateUserRequest, DeleteUserRequest, DeleteUserResponse, DisableUserRequest,
    EnableTotpRequest, EnableTotpResponse, GetUserRequest, ListUsersRequest, ListUsersResponse,
    SetPasswordRequest, SetPasswordResponse, UpdateUserRequest, User, UserResponse,
};
use tonic::{Request, Response, Status};
use zeroize::Zeroizing;

use crate::api::datastore_status;
use crate::datastore::{
    ApiKeyStore, ConsentStore, GrantStore, TenantId, TenantScope, TenantStore, UserRecord,
    UserStore,
};
use crate::oauth::browser::consent::forget_user_consents;
use crate::users::{Accounts, NewUser, Password, UserChanges, UserError};

/// The largest page `ListUsers` returns (also the size of a page when none is asked).
pub const MAX_USER_PAGE: usize = 1000;

/// Operator access to the user accounts.
#[derive(Debug)]
pub struct UsersService<S> {
    accounts: Accounts<S>,
}

impl<S> UsersService<S> {
    /// A service over `accounts`.
    pub fn new(accounts: Accounts<S>) -> Self {
        Self { accounts }
    }
}

impl<S: UserStore + TenantStore + TenantScope> UsersService<S> {
    /// The accounts of the tenant `request` names.
    async fn accounts_in<T>(&self, request: &Request<T>) -> Result<Accounts<S>, Status> {
        let store = super::tenant_scope::scoped(self.accounts.store(), request).await?;
        self.accounts
            .for_tenant(store.tenant())
            .map_err(crate::api::datastore_status)
    }
}

/// The gRPC status of an account error: `InvalidArgument` naming the field, precise
/// `NotFound` / `AlreadyExists`; internal detail is logged, never sent.
pub fn user_status(e: UserError) -> Status {
    match e {
        e @ UserError::Invalid { .. } => Status::invalid_argument(e.to_string()),
        e @ UserError::NotFound(_) => Status::not_found(e.to_string()),
        UserError::AlreadyExists(m) => Status::already_exists(m),
        UserError::Datastore(e) => datastore_status(e),
        UserError::Internal(m) => {
            tracing::error!(error = %m, "internal error in the users API");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The wire form of an account: never the password hash or the TOTP secret.
pub fn to_wire(u: &UserRecord) -> User {
    User {
        id: u.id.clone(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        disabled: u.disabled,
        totp_enabled: u.totp.is_some(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

fn reply(u: &UserRecord) -> Response<UserResponse> {
    Response::new(UserResponse {
        user: Some(to_wire(u)),
    })
}

fn password(text: String) -> Result<Password, Status> {
    Password::new(Zeroizing::new(text)).map_err(user_status)
}

/// Ends every grant (refresh-token family) and forgets every remembered consent of a
/// disabled or deleted account. A failure is logged, not returned: the account change is
/// done, and refreshes and sign-ins check the account live.
async fn end_grants<S: GrantStore + ConsentStore>(store: &S, user_id: &str) {
    if let Err(e) = crate::oauth::grants::revoke_user_grants(store, user_id).await {
        tracing::error!(user_id, error = %e, "could not revoke the account's grants");
    }
    if let Err(e) = forget_user_consents(store, user_id).await {
        tracing::error!(user_id, error = %e, "could not forget the account's consents");
    }
}

fn audit(event: &'static str, tenant: &TenantId, u: &UserRecord) {
    tracing::info!(
        target: "tessera::audit",
        event,
        actor = "admin_api",
        tenant = %tenant,
        user_id = %u.id,
        username = %u.username,
    );
}

#[tonic::async_trait]
impl<S: UserStore + GrantStore + ConsentStore + ApiKeyStore + TenantStore + TenantScope + Clone>
    Users for UsersService<S>
{
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let request = request.into_inner();
        let secret = password(request.password)?;
        let wire = request
            .user
            .ok_or_else(|| Status::invalid_argument("user: required"))?;
        let new = NewUser {
            username: wire.username,
            display_name: wire.display_name,
            email: wire.email,
        };
        let created = accounts.create(new, secret).await.map_err(user_status)?;
        audit("user_created", accounts.store().tenant(), &created);
        Ok(reply(&created))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let found = accounts
            .find(&request.into_inner().user)
            .await
            .map_err(user_status)?;
        Ok(reply(&found))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let request = request.into_inner();
        let size = usize::try_from(request.page_size).unwrap_or(MAX_USER_PAGE);
        let size = if size == 0 {
            MAX_USER_PAGE
        } else {
            size.min(MAX_USER_PAGE)
        };
        let page = accounts
            .list(&request.page_token, size)
            .await
            .map_err(user_status)?;
        Ok(Response::new(ListUsersResponse {
            users: page.items.iter().map(to_wire).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let wire = request
            .into_inner()
            .user
            .ok_or_else(|| Status::invalid_argument("user: required"))?;
        if wire.id.is_empty() {
            return Err(Status::invalid_argument("user.id: required"));
        }
        let before = accounts.find(&wire.id).await.map_err(user_status)?;
        if before.id != wire.id {
            return Err(user_status(UserError::NotFound(wire.id)));
        }
        if wire.totp_enabled && before.totp.is_none() {
            return Err(Status::invalid_argument(
                "user.totp_enabled: TOTP is turned on with EnableTotp, which returns the secret",
            ));
        }
        let changes = UserChanges {
            username: wire.username,
            display_name: wire.display_name,
            email: wire.email,
            disabled: wire.disabled,
            totp_enabled: wire.totp_enabled,
        };
        let after = accounts
            .update(&wire.id, changes)
            .await
            .map_err(user_status)?;
        audit("user_updated", accounts.store().tenant(), &after);
        if after.disabled {
            end_grants(accounts.store(), &after.id).await;
        }
        if before.disabled != after.disabled {
            audit(
                if after.disabled {
                    "user_disabled"
                } else {
                    "user_enabled"
                },
                accounts.store().tenant(),
                &after,
            );
        }
        if before.totp.is_some() && after.totp.is_none() {
            audit("user_totp_disabled", accounts.store().tenant(), &after);
        }
        Ok(reply(&after))
    }

    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<DeleteUserResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let deleted = accounts
            .delete(&request.into_inner().user)
            .await
            .map_err(user_status)?;
        audit("user_deleted", accounts.store().tenant(), &deleted);
        end_grants(accounts.store(), &deleted.id).await;
        let owner = crate::datastore::ApiKeyOwner::User(deleted.id.clone());
        crate::api_keys::forget_owner_keys(accounts.store(), &owner).await;
        Ok(Response::new(DeleteUserResponse {}))
    }

    async fn set_password(
        &self,
        request: Request<SetPasswordRequest>,
    ) -> Result<Response<SetPasswordResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let request = request.into_inner();
        let secret = password(request.password)?;
        let changed = accounts
            .set_password(&request.user, secret)
            .await
            .map_err(user_status)?;
        audit("user_password_changed", accounts.store().tenant(), &changed);
        Ok(Response::new(SetPasswordResponse {}))
    }

    async fn enable_totp(
        &self,
        request: Request<EnableTotpRequest>,
    ) -> Result<Response<EnableTotpResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let (user, uri) = accounts
            .enable_totp(&request.into_inner().user)
            .await
            .map_err(user_status)?;
        audit("user_totp_enabled", accounts.store().tenant(), &user);
        Ok(Response::new(EnableTotpResponse {
            provisioning_uri: uri.to_string(),
        }))
    }

    async fn disable_user(
        &self,
        request: Request<DisableUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let accounts = self.accounts_in(&request).await?;
        let user = accounts
            .set_disabled(&request.into_inner().user, true)
            .await
            .map_err(user_status)?;
        audit("user_disabled", accounts.store().tenant(), &user);
        end_grants(accounts.store(), &user.id).await;
        Ok(reply(&user))
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
