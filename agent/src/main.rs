//! `tessera-agent`: CLI entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_agent::cli;
use tessera_agent::config::AgentConfig;
use tessera_agent::run::{self, RunError};

/// tessera-agent: attests the node, keeps its workloads' SVIDs fresh and (next) serves them
/// over the SPIFFE Workload API.
#[derive(Debug, Parser)]
#[command(name = "tessera-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent.
    Run {
        /// The agent config file.
        #[arg(long, short, default_value = "agent.toml")]
        config: PathBuf,
    },
    /// Workload API commands: fetch SVIDs and bundles, validate JWT-SVIDs, watch.
    #[command(subcommand)]
    Api(cli::ApiCommand),
    /// Check the agent: with `--config` and `[health]` on, its readiness (`/ready`); else
    /// that it answers on its Workload API socket.
    Healthcheck {
        #[command(flatten)]
        socket: cli::SocketArg,
        /// The agent's config file: ask its `[health]` endpoint (or its socket).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("error: a TLS crypto provider was already installed");
        return ExitCode::FAILURE;
    }
    let config = match cli.command {
        Command::Run { config } => config,
        Command::Api(command) => return client_command(cli::api(command)),
        Command::Healthcheck { socket, config } => {
            return client_command(
                async move { cli::healthcheck(&socket, config.as_deref()).await },
            );
        }
    };
    // Everything the agent creates in data_dir is private to it (sockets get their modes
    // set explicitly).
    tessera_proto::private_dir::restrict_umask();
    let config = match AgentConfig::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    tessera_proto::telemetry::init(&config.log_level, config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Config(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = %e, "tessera-agent stopped");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a Workload API client command; errors to stderr, exit 1.
fn client_command(
    command: impl std::future::Future<Output = Result<(), cli::CliError>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
