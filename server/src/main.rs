//! `tessera-server`: CLI entry point.

use std::process::ExitCode;

use clap::Parser;
use tessera_server::cli::{self, Cli, Command};
use tessera_server::config::ServerConfig;
use tessera_server::datastore::PgStore;
use tessera_server::{run, telemetry};

#[global_allocator]
static GLOBAL: tessera_server::Allocator = tessera_server::Allocator;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("error: a TLS crypto provider was already installed");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run { config } => {
            // Everything the server creates (datastore files, keys) is private to it.
            tessera_proto::private_dir::restrict_umask();
            let config = match ServerConfig::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = telemetry::init_server(&config) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            match runtime.block_on(run::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "tessera-server stopped");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { config } => {
            let config = match ServerConfig::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            telemetry::init(&config.log_level, config.log_format);
            let Some(settings) = config.datastore.postgres() else {
                cli::write_stdout(format_args!(
                    "datastore.kind is \"sled\": nothing to migrate\n"
                ));
                return ExitCode::SUCCESS;
            };
            match runtime.block_on(PgStore::migrate_only(&settings)) {
                Ok(()) => {
                    cli::write_stdout(format_args!("the PostgreSQL schema is up to date\n"));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: datastore: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        admin => match runtime.block_on(cli::admin(admin)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
