//! `tessera-server authority x509|jwt|oauth show|prepare|activate|taint|revoke` (SPIRE's
//! `localauthority`, plus the OAuth access-token signing keys of each tenant: `oauth
//! --tenant ID`, default `default`).

use clap::Subcommand;
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::admin::v1::authorities_client::AuthoritiesClient;
use tessera_proto::wire::tessera::admin::v1::{
    ActivateAuthorityRequest, Authority, AuthorityKind, AuthorityState, ListAuthoritiesRequest,
    PrepareAuthorityRequest, RevokeAuthorityRequest, TaintAuthorityRequest,
};

use super::output::outln;
use super::{CliError, SocketArg, connect};

/// Which family of authorities.
#[derive(Debug, Subcommand)]
pub enum AuthorityKindCommand {
    /// X.509 signing CAs.
    #[command(subcommand)]
    X509(AuthorityCommand),
    /// JWT-SVID signing keys.
    #[command(subcommand)]
    Jwt(AuthorityCommand),
    /// OAuth access-token signing keys of one tenant (its JWKS).
    Oauth {
        /// The tenant whose keys are meant.
        #[arg(long, global = true, default_value = "default")]
        tenant: String,
        #[command(subcommand)]
        command: AuthorityCommand,
    },
}

/// The `--authority-id` option.
#[derive(Debug, clap::Args)]
pub struct AuthorityIdArg {
    /// The authority ID (X.509: subject key ID in hex; JWT, OAuth: key ID), from `show`.
    /// Random key IDs may begin with `-`; they are taken as values, not flags.
    #[arg(long, allow_hyphen_values = true)]
    pub authority_id: String,
}

/// What to do with authorities.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// List the authorities and their slots.
    Show {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Mint the next authority now (PREPARED).
    Prepare {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Activate the PREPARED authority; the ACTIVE one becomes OLD.
    Activate {
        #[command(flatten)]
        id: AuthorityIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Taint an OLD authority: everything it signed is re-issued.
    Taint {
        #[command(flatten)]
        id: AuthorityIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Revoke a tainted authority: it leaves the bundle.
    Revoke {
        #[command(flatten)]
        id: AuthorityIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

fn print(a: &Authority) {
    let state = AuthorityState::try_from(a.state)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("AUTHORITY_STATE_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| "unknown".into());
    let expires = time::OffsetDateTime::from(from_unix_seconds(a.expires_at));
    outln!("Authority ID: {}", a.authority_id);
    if !a.tenant.is_empty() {
        outln!("  Tenant:     {}", a.tenant);
    }
    outln!(
        "  State:      {state}{}",
        if a.tainted { " (tainted)" } else { "" }
    );
    outln!("  Key type:   {}", a.key_type);
    outln!("  Expires at: {expires}");
    if !a.upstream_authority_id.is_empty() {
        outln!("  Upstream:   {}", a.upstream_authority_id);
    }
}

/// Runs an `authority` command.
pub async fn run(command: AuthorityKindCommand) -> Result<(), CliError> {
    let (kind, tenant, command) = match command {
        AuthorityKindCommand::X509(c) => (AuthorityKind::X509 as i32, String::new(), c),
        AuthorityKindCommand::Jwt(c) => (AuthorityKind::Jwt as i32, String::new(), c),
        AuthorityKindCommand::Oauth { tenant, command } => {
            (AuthorityKind::Oauth as i32, tenant, command)
        }
    };
    let socket = match &command {
        AuthorityCommand::Show { socket }
        | AuthorityCommand::Prepare { socket }
        | AuthorityCommand::Activate { socket, .. }
        | AuthorityCommand::Taint { socket, .. }
        | AuthorityCommand::Revoke { socket, .. } => socket.clone(),
    };
    let mut client = AuthoritiesClient::new(connect(&socket).await?);
    let changed = match command {
        AuthorityCommand::Show { .. } => {
            let list = client
                .list_authorities(ListAuthoritiesRequest { kind, tenant })
                .await?
                .into_inner();
            for a in &list.authorities {
                print(a);
            }
            return Ok(());
        }
        AuthorityCommand::Prepare { .. } => {
            client
                .prepare_authority(PrepareAuthorityRequest { kind, tenant })
                .await?
        }
        AuthorityCommand::Activate { id, .. } => {
            client
                .activate_authority(ActivateAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
                    tenant,
                })
                .await?
        }
        AuthorityCommand::Taint { id, .. } => {
            client
                .taint_authority(TaintAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
                    tenant,
                })
                .await?
        }
        AuthorityCommand::Revoke { id, .. } => {
            client
                .revoke_authority(RevokeAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
                    tenant,
                })
                .await?
        }
    };
    let authority = changed
        .into_inner()
        .authority
        .ok_or_else(|| CliError("server sent no authority".into()))?;
    print(&authority);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use clap::Parser as _;

    use super::{AuthorityCommand, AuthorityKindCommand};
    use crate::cli::{Cli, Command};

    fn oauth(args: &[&str]) -> (String, AuthorityCommand) {
        let mut all = vec!["tessera-server", "authority", "oauth"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Authority(AuthorityKindCommand::Oauth { tenant, command }) => {
                (tenant, command)
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn oauth_commands_take_a_tenant_before_or_after_the_verb_default_default() {
        assert_eq!(oauth(&["show"]).0, "default");
        assert_eq!(oauth(&["--tenant", "acme", "show"]).0, "acme");
        let (tenant, command) = oauth(&["taint", "--authority-id", "-k1", "--tenant", "acme"]);
        assert_eq!(tenant, "acme");
        assert!(matches!(command, AuthorityCommand::Taint { id, .. } if id.authority_id == "-k1"));
        let x509 = [
            "tessera-server",
            "authority",
            "x509",
            "show",
            "--tenant",
            "acme",
        ];
        assert!(
            Cli::try_parse_from(x509).is_err(),
            "tenants have OAuth keys only"
        );
    }
}
