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

pub use output::write_stdout;

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

/// The admin socket options shared by every admin command.
#[derive(Clone, clap::Args)]
pub struct SocketArg {
    /// Path to the server's admin socket.
    #[arg(long = "socket", env = "TESSERA_ADMIN_SOCKET", default_value = DEFAULT_SOCKET)]
    pub path: PathBuf,
    /// Call as this API key (one with an `admin:<role>` scope) instead of as the socket
    /// peer. Prefer the environment variable: arguments are visible to other local users.
    #[arg(long = "api-key", env = "TESSERA_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for SocketArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketArg")
            .field("path", &self.path)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
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
    /// Show this caller's admin role, permissions and tenant limit (`--tenant`: the
    /// tenant the call names, where a tenant's API key is found).
    Whoami {
        #[command(flatten)]
        output: output::OutputArg,
        #[command(flatten)]
        socket: SocketArg,
        #[command(flatten)]
        tenant: TenantArg,
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

/// Connects to the admin socket with a clear error; calls carry `--api-key` when given.
pub async fn connect(socket: &SocketArg) -> Result<AdminChannel, CliError> {
    connect_with(socket, None).await
}

async fn connect_with(
    socket: &SocketArg,
    tenant: Option<tonic::metadata::AsciiMetadataValue>,
) -> Result<AdminChannel, CliError> {
    let bearer = match &socket.api_key {
        None => None,
        Some(key) => {
            let mut value: tonic::metadata::AsciiMetadataValue = format!("Bearer {}", key.trim())
                .parse()
                .map_err(|_| CliError("--api-key: not an API key".into()))?;
            value.set_sensitive(true);
            Some(value)
        }
    };
    let channel = crate::api::uds::connect(&socket.path).await.map_err(|e| {
        CliError(format!(
            "cannot reach the server at {} ({e}); is `tessera-server run` up, and is --socket right?",
            socket.path.display()
        ))
    })?;
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        AdminHeaders { tenant, bearer },
    ))
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

/// The admin channel: every call carries the API key (`authorization`) when one is given
/// and, for tenant-scoped commands, the tenant (`x-tessera-tenant`).
pub type AdminChannel = tonic::codegen::InterceptedService<tonic::transport::Channel, AdminHeaders>;

/// The admin channel of tenant-scoped commands.
pub type TenantChannel = AdminChannel;

/// Adds the tenant and bearer metadata to each call.
#[derive(Clone)]
pub struct AdminHeaders {
    tenant: Option<tonic::metadata::AsciiMetadataValue>,
    bearer: Option<tonic::metadata::AsciiMetadataValue>,
}

impl std::fmt::Debug for AdminHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminHeaders")
            .field("tenant", &self.tenant)
            .field("bearer", &self.bearer.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl tonic::service::Interceptor for AdminHeaders {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        if let Some(tenant) = &self.tenant {
            metadata.insert(crate::api::admin::TENANT_METADATA, tenant.clone());
        }
        if let Some(bearer) = &self.bearer {
            metadata.insert("authorization", bearer.clone());
        }
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
    connect_with(socket, Some(value)).await
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
        Command::Whoami {
            output,
            socket,
            tenant,
        } => whoami::run(&socket, &tenant, output).await,
    }
}
