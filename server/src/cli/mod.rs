//! The `tessera-server` command line (SPIRE-style verbs).

mod agent;
mod api_key;
mod audit;
mod authority;
mod bundle;
mod client;
mod client_output;
mod entry;
mod entry_output;
mod federated_bundle;
mod federation;
mod healthcheck;
mod output;
mod pages;
mod tenant;
mod token;
mod user;
mod user_output;
mod whoami;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Default admin socket: `<default data_dir>/admin.sock`.
pub const DEFAULT_SOCKET: &str = ".tessera/server/admin.sock";

/// tessera-server: the trust domain's CA and authorization server.
#[derive(Debug, Parser)]
#[command(name = "tessera-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The admin socket option shared by every admin command.
#[derive(Debug, Clone, clap::Args)]
pub struct SocketArg {
    /// Path to the server's admin socket.
    #[arg(long = "socket", env = "TESSERA_ADMIN_SOCKET", default_value = DEFAULT_SOCKET)]
    pub path: PathBuf,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Run {
        /// The config file (TOML).
        #[arg(long, short = 'c', default_value = "server.toml")]
        config: PathBuf,
    },
    /// Apply the datastore's schema migrations (PostgreSQL) without starting the server.
    Migrate {
        /// The config file (TOML).
        #[arg(long, short = 'c', default_value = "server.toml")]
        config: PathBuf,
    },
    /// Check that a running server answers on its admin socket.
    Healthcheck {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Trust bundle commands.
    #[command(subcommand)]
    Bundle(bundle::BundleCommand),
    /// Federation relationships with other trust domains (bundle endpoints).
    #[command(subcommand)]
    Federation(Box<federation::FederationCommand>),
    /// Local authority commands: X.509 CAs, JWT-SVID keys and OAuth signing keys.
    #[command(subcommand, alias = "localauthority")]
    Authority(authority::AuthorityKindCommand),
    /// Join tokens for agent attestation.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Attested agents.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Registration entry commands.
    #[command(subcommand)]
    Entry(Box<entry::EntryCommand>),
    /// OAuth client commands (`--tenant` picks the tenant).
    Client(Box<client::ClientArgs>),
    /// User account commands (`--tenant` picks the tenant).
    User(Box<user::UserArgs>),
    /// Tenants: isolated realms of users and OAuth clients, each its own issuer.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Audit trail commands (local files; no server needed).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// API keys: scoped, expiring credentials of users and OAuth clients (`--tenant`
    /// picks the tenant; `check` works offline).
    ApiKey(Box<api_key::ApiKeyArgs>),
    /// Show this caller's admin role, permissions and tenant limit.
    Whoami {
        #[command(flatten)]
        output: output::OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// A CLI failure: printed to stderr, exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<tonic::Status> for CliError {
    fn from(s: tonic::Status) -> Self {
        Self(format!("server refused: {} ({:?})", s.message(), s.code()))
    }
}

/// Connects to the admin socket with a clear error.
pub async fn connect(socket: &SocketArg) -> Result<tonic::transport::Channel, CliError> {
    crate::api::uds::connect(&socket.path).await.map_err(|e| {
        CliError(format!(
            "cannot reach the server at {} ({e}); is `tessera-server run` up, and is --socket right?",
            socket.path.display()
        ))
    })
}

/// The tenant option of tenant-scoped commands (`user`, `client`).
#[derive(Debug, Clone, clap::Args)]
pub struct TenantArg {
    /// The tenant the command acts in.
    #[arg(
        long = "tenant",
        global = true,
        env = "TESSERA_TENANT",
        default_value = crate::datastore::DEFAULT_TENANT
    )]
    pub tenant: String,
}

/// The admin channel with every call naming a tenant (`x-tessera-tenant`).
pub type TenantChannel =
    tonic::codegen::InterceptedService<tonic::transport::Channel, TenantHeader>;

/// Adds the tenant metadata to each call.
#[derive(Debug, Clone)]
pub struct TenantHeader(tonic::metadata::AsciiMetadataValue);

impl tonic::service::Interceptor for TenantHeader {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert(crate::api::admin::TENANT_METADATA, self.0.clone());
        Ok(request)
    }
}

/// Connects to the admin socket for calls in `tenant`.
pub async fn connect_in(socket: &SocketArg, tenant: &TenantArg) -> Result<TenantChannel, CliError> {
    let id = crate::datastore::TenantId::parse(&tenant.tenant)
        .map_err(|e| CliError(format!("--tenant: {e}")))?;
    let value = id
        .as_str()
        .parse()
        .map_err(|_| CliError(format!("--tenant: {:?} is not a tenant ID", tenant.tenant)))?;
    let channel = connect(socket).await?;
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        TenantHeader(value),
    ))
}

/// Runs an admin command (everything but `run`).
pub async fn admin(command: Command) -> Result<(), CliError> {
    match command {
        Command::Run { .. } => Err(CliError("`run` is not an admin command".into())),
        Command::Migrate { .. } => Err(CliError("`migrate` is not an admin command".into())),
        Command::Healthcheck { socket } => healthcheck::run(&socket).await,
        Command::Bundle(cmd) => bundle::run(cmd).await,
        Command::Authority(cmd) => authority::run(cmd).await,
        Command::Federation(cmd) => federation::run(*cmd).await,
        Command::Token(cmd) => token::run(cmd).await,
        Command::Agent(cmd) => agent::run(cmd).await,
        Command::Entry(cmd) => entry::run(*cmd).await,
        Command::Client(cmd) => client::run(*cmd).await,
        Command::User(cmd) => user::run(*cmd).await,
        Command::Tenant(cmd) => tenant::run(cmd).await,
        Command::Audit(cmd) => audit::run(&cmd),
        Command::ApiKey(cmd) => api_key::run(*cmd).await,
        Command::Whoami { output, socket } => whoami::run(&socket, output).await,
    }
}
