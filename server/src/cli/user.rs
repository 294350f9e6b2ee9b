//! `tessera-server user create|show|list|update|delete|set-password|enable-totp|disable`.
//!
//! Passwords never come from the command line (where `ps` and shell history would see
//! them): `--password-stdin` reads the first line of standard input; without it, a
//! terminal gets a prompt that does not echo (asked twice to catch typos).

use std::io::{BufRead as _, IsTerminal as _};

use clap::Subcommand;
use serde_json::json;
use tessera_proto::wire::tessera::admin::v1::users_client::UsersClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateUserRequest, DeleteUserRequest, DisableUserRequest, EnableTotpRequest, GetUserRequest,
    ListUsersRequest, SetPasswordRequest, UpdateUserRequest, User,
};
use zeroize::Zeroizing;

use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::pages::collect_pages;
use super::user_output::{print_pretty, print_user, to_json};
use super::{CliError, SocketArg, TenantArg, TenantChannel, connect_in};

/// Which user: `--id ID` or `--username NAME` (case-insensitive).
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct UserRef {
    /// The user's ID (IDs may begin with `-`; taken as a value, not a flag).
    #[arg(long, allow_hyphen_values = true)]
    pub id: Option<String>,
    /// The user's username.
    #[arg(long)]
    pub username: Option<String>,
}

/// How the password is read.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PasswordArg {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `user` with the tenant whose accounts it manages.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    #[command(subcommand)]
    pub command: UserCommand,
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user account.
    Create {
        /// Username (case-insensitive unique; letters, digits, `.`, `_`, `-`, `@`).
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one user.
    Show {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List the users.
    List {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Change a user: only the given options change.
    Update {
        #[command(flatten)]
        user: UserRef,
        /// A new username.
        #[arg(long)]
        new_username: Option<String>,
        /// E-mail address (empty to clear).
        #[arg(long)]
        email: Option<String>,
        /// Display name (empty to clear).
        #[arg(long)]
        display_name: Option<String>,
        /// Enable (`true`) or disable (`false`) the account.
        #[arg(long)]
        enabled: Option<bool>,
        /// Remove the user's TOTP secret.
        #[arg(long)]
        disable_totp: bool,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete a user.
    Delete {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Replace a user's password.
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Give a user a new TOTP secret; prints the otpauth:// URI once.
    EnableTotp {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Disable a user (`user update --enabled true` enables it again).
    Disable {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// The password from stdin (`--password-stdin`) or a no-echo prompt on a terminal.
fn read_password(arg: PasswordArg) -> Result<Zeroizing<String>, CliError> {
    if arg.password_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError(format!("reading the password from stdin: {e}")))?;
        let trimmed = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(trimmed);
        if line.is_empty() {
            return Err(CliError("no password on stdin".into()));
        }
        return Ok(line);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError(
            "no password: pipe it with --password-stdin, or run in a terminal to be prompted"
                .into(),
        ));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text)
            .map(Zeroizing::new)
            .map_err(|e| CliError(format!("reading the password: {e}")))
    };
    let first = prompt("Password: ")?;
    let again = prompt("Repeat password: ")?;
    if *first != *again {
        return Err(CliError("the passwords do not match".into()));
    }
    Ok(first)
}

/// The user `r` names, checked to be a match of the kind asked for (the server looks a
/// reference up as an ID first, then as a username).
async fn resolve(api: &mut UsersClient<TenantChannel>, r: &UserRef) -> Result<User, CliError> {
    let reference =
        r.id.clone()
            .or_else(|| r.username.clone())
            .unwrap_or_default();
    let found = api
        .get_user(GetUserRequest {
            user: reference.clone(),
        })
        .await?
        .into_inner()
        .user
        .ok_or_else(|| CliError("server sent no user".into()))?;
    let matches = match (&r.id, &r.username) {
        (Some(id), _) => found.id == *id,
        (None, Some(name)) => found.username.eq_ignore_ascii_case(name),
        (None, None) => false,
    };
    if !matches {
        let kind = if r.id.is_some() { "ID" } else { "username" };
        return Err(CliError(format!(
            "server refused: no user with {kind} {reference:?} (NotFound)"
        )));
    }
    Ok(found)
}

/// Runs a `user` command.
pub async fn run(args: UserArgs) -> Result<(), CliError> {
    let UserArgs { tenant, command } = args;
    let socket = match &command {
        UserCommand::Create { socket, .. }
        | UserCommand::Show { socket, .. }
        | UserCommand::List { socket, .. }
        | UserCommand::Update { socket, .. }
        | UserCommand::Delete { socket, .. }
        | UserCommand::SetPassword { socket, .. }
        | UserCommand::EnableTotp { socket, .. }
        | UserCommand::Disable { socket, .. } => socket.clone(),
    };
    // Read the password before connecting: a prompt should not hold a connection open.
    let password = match &command {
        UserCommand::Create { password, .. } | UserCommand::SetPassword { password, .. } => {
            Some(read_password(*password)?)
        }
        _ => None,
    };
    let mut api = UsersClient::new(connect_in(&socket, &tenant).await?);
    match command {
        UserCommand::Create {
            username,
            email,
            display_name,
            output,
            ..
        } => {
            let user = User {
                username,
                email: email.unwrap_or_default(),
                display_name: display_name.unwrap_or_default(),
                ..Default::default()
            };
            let request = CreateUserRequest {
                user: Some(user),
                password: password.as_deref().cloned().unwrap_or_default(),
            };
            let reply = api.create_user(request).await?.into_inner();
            print_user(reply.user, output.format)
        }
        UserCommand::Show { user, output, .. } => {
            print_user(Some(resolve(&mut api, &user).await?), output.format)
        }
        UserCommand::List { output, .. } => {
            let users = collect_pages(async |page_token| {
                let request = ListUsersRequest {
                    page_size: 0,
                    page_token,
                };
                let page = api.list_users(request).await?.into_inner();
                Ok((page.users, page.next_page_token))
            })
            .await?;
            print_records(
                &users,
                output.format,
                "users",
                "user",
                to_json,
                print_pretty,
            );
            Ok(())
        }
        UserCommand::Update {
            user,
            new_username,
            email,
            display_name,
            enabled,
            disable_totp,
            output,
            ..
        } => {
            let mut found = resolve(&mut api, &user).await?;
            found.username = new_username.unwrap_or(found.username);
            found.email = email.unwrap_or(found.email);
            found.display_name = display_name.unwrap_or(found.display_name);
            found.disabled = enabled.map_or(found.disabled, |e| !e);
            found.totp_enabled = found.totp_enabled && !disable_totp;
            let request = UpdateUserRequest { user: Some(found) };
            let reply = api.update_user(request).await?.into_inner();
            print_user(reply.user, output.format)
        }
        UserCommand::Delete { user, .. } => {
            let found = resolve(&mut api, &user).await?;
            api.delete_user(DeleteUserRequest { user: found.id })
                .await?;
            outln!("User deleted successfully");
            Ok(())
        }
        UserCommand::SetPassword { user, .. } => {
            let found = resolve(&mut api, &user).await?;
            let request = SetPasswordRequest {
                user: found.id,
                password: password.as_deref().cloned().unwrap_or_default(),
            };
            api.set_password(request).await?;
            outln!("Password changed successfully");
            Ok(())
        }
        UserCommand::EnableTotp { user, output, .. } => {
            let found = resolve(&mut api, &user).await?;
            let request = EnableTotpRequest { user: found.id };
            let uri = Zeroizing::new(
                api.enable_totp(request)
                    .await?
                    .into_inner()
                    .provisioning_uri,
            );
            match output.format {
                Output::Json => outln!("{}", json!({ "provisioning_uri": uri.as_str() })),
                Output::Pretty => {
                    outln!("{}", uri.as_str());
                    outln!("(shown once: add it to an authenticator app now)");
                }
            }
            Ok(())
        }
        UserCommand::Disable { user, output, .. } => {
            let found = resolve(&mut api, &user).await?;
            let request = DisableUserRequest { user: found.id };
            let reply = api.disable_user(request).await?.into_inner();
            print_user(reply.user, output.format)
        }
    }
}
