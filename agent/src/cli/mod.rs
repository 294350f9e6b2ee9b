//! `tessera-agent api …` and `healthcheck`: Workload API commands for workloads and
//! operators (SPIRE's `spire-agent api`, plus spiffe-helper's `watch`).

mod client;
mod fetch;
mod files;
mod health;
mod output;
mod validate;
mod watch;

use std::path::PathBuf;

use clap::Subcommand;

pub use client::{CliError, WorkloadClient};
use output::{emit, say};

/// Default socket when neither `--socket` nor `SPIFFE_ENDPOINT_SOCKET` is given: the
/// default `socket_path` of `agent.toml`.
pub const DEFAULT_SOCKET: &str = ".tessera/agent/public/api.sock";

/// `--socket PATH` (also `SPIFFE_ENDPOINT_SOCKET=unix:///abs/path`).
#[derive(Debug, Clone, clap::Args)]
pub struct SocketArg {
    /// The Workload API socket.
    #[arg(long = "socket")]
    pub path: Option<PathBuf>,
}

impl SocketArg {
    /// The socket to use: `--socket`, else `SPIFFE_ENDPOINT_SOCKET`, else the default.
    pub fn resolve(&self) -> Result<PathBuf, CliError> {
        if let Some(p) = &self.path {
            return Ok(p.clone());
        }
        match std::env::var("SPIFFE_ENDPOINT_SOCKET") {
            Ok(v) if !v.is_empty() => {
                v.strip_prefix("unix://").map(PathBuf::from).ok_or_else(|| {
                    CliError(format!(
                        "SPIFFE_ENDPOINT_SOCKET={v:?} is not a unix:// address"
                    ))
                })
            }
            _ => Ok(PathBuf::from(DEFAULT_SOCKET)),
        }
    }
}

/// `tessera-agent api …`.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Fetch SVIDs or bundles once.
    #[command(subcommand)]
    Fetch(fetch::FetchCommand),
    /// Validate a JWT-SVID.
    #[command(subcommand)]
    Validate(validate::ValidateCommand),
    /// Keep SVID files current and reload the workload on every rotation.
    Watch(watch::WatchArgs),
}

/// Runs an `api` command.
pub async fn api(command: ApiCommand) -> Result<(), CliError> {
    match command {
        ApiCommand::Fetch(c) => fetch::run(c).await,
        ApiCommand::Validate(c) => validate::run(c).await,
        ApiCommand::Watch(a) => watch::run(a).await,
    }
}

/// `tessera-agent healthcheck`: readiness through `/ready` when `config` has `[health]`
/// on, else the Workload API answers (on `--socket`, else the config's `socket_path`).
pub async fn healthcheck(
    socket: &SocketArg,
    config: Option<&std::path::Path>,
) -> Result<(), CliError> {
    health::run(socket, config).await
}
