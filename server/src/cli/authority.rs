//! `tessera-server authority x509|jwt|oauth show|prepare|activate|taint|revoke` (SPIRE's
//! `localauthority`, plus the OAuth access-token signing keys).

use clap::Subcommand;
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::admin::v1::authorities_client::AuthoritiesClient;
use tessera_proto::wire::tessera::admin::v1::{
    ActivateAuthorityRequest, Authority, AuthorityKind, AuthorityState, ListAuthoritiesRequest,
    PrepareAuthorityRequest, RevokeAuthorityRequest, TaintAuthorityRequest,
};

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
    /// OAuth access-token signing keys (`/.well-known/jwks.json`).
    #[command(subcommand)]
    Oauth(AuthorityCommand),
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
    println!("Authority ID: {}", a.authority_id);
    println!(
        "  State:      {state}{}",
        if a.tainted { " (tainted)" } else { "" }
    );
    println!("  Key type:   {}", a.key_type);
    println!("  Expires at: {expires}");
    if !a.upstream_authority_id.is_empty() {
        println!("  Upstream:   {}", a.upstream_authority_id);
    }
}

/// Runs an `authority` command.
pub async fn run(command: AuthorityKindCommand) -> Result<(), CliError> {
    let (kind, command) = match command {
        AuthorityKindCommand::X509(c) => (AuthorityKind::X509 as i32, c),
        AuthorityKindCommand::Jwt(c) => (AuthorityKind::Jwt as i32, c),
        AuthorityKindCommand::Oauth(c) => (AuthorityKind::Oauth as i32, c),
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
                .list_authorities(ListAuthoritiesRequest { kind })
                .await?
                .into_inner();
            for a in &list.authorities {
                print(a);
            }
            return Ok(());
        }
        AuthorityCommand::Prepare { .. } => {
            client
                .prepare_authority(PrepareAuthorityRequest { kind })
                .await?
        }
        AuthorityCommand::Activate { id, .. } => {
            client
                .activate_authority(ActivateAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
                })
                .await?
        }
        AuthorityCommand::Taint { id, .. } => {
            client
                .taint_authority(TaintAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
                })
                .await?
        }
        AuthorityCommand::Revoke { id, .. } => {
            client
                .revoke_authority(RevokeAuthorityRequest {
                    kind,
                    authority_id: id.authority_id,
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
