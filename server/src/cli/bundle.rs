//! `tessera-server bundle show` (own bundle) and `list|set|delete` (federated bundles).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use tessera_proto::wire::tessera::admin::v1::GetBundleRequest;
use tessera_proto::wire::tessera::admin::v1::bundles_client::BundlesClient;

use super::output::{Output, out, outln};
use super::{CliError, SocketArg, connect, federated_bundle};

/// Bundle formats (`show`, `list`, `set`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BundleFormat {
    /// The X.509 authorities as PEM certificates.
    Pem,
    /// The SPIFFE bundle document (JWKS JSON).
    Spiffe,
}

/// `bundle` subcommands.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Print the trust domain's bundle.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value = "pem")]
        format: BundleFormat,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List federated bundles (other trust domains').
    List {
        /// Only this trust domain's bundle (`spiffe://other.org`).
        #[arg(long)]
        id: Option<String>,
        /// Format of each bundle in pretty output.
        #[arg(long, value_enum, default_value = "pem")]
        format: BundleFormat,
        /// Output format.
        #[arg(long, value_enum, default_value = "pretty")]
        output: Output,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Create or replace a federated bundle.
    Set {
        /// The trust domain (`spiffe://other.org`).
        #[arg(long)]
        id: String,
        /// The bundle file; read from stdin when omitted.
        #[arg(long = "path")]
        bundle_path: Option<PathBuf>,
        /// Format of the input: a SPIFFE bundle document, or PEM CA certificates.
        #[arg(long, value_enum, default_value = "pem")]
        format: BundleFormat,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete a federated bundle.
    Delete {
        /// The trust domain (`spiffe://other.org`).
        #[arg(long)]
        id: String,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// Runs a `bundle` command.
pub async fn run(command: BundleCommand) -> Result<(), CliError> {
    match command {
        BundleCommand::Show { format, socket } => {
            let mut client = BundlesClient::new(connect(&socket).await?);
            let reply = client.get_bundle(GetBundleRequest {}).await?.into_inner();
            match format {
                BundleFormat::Spiffe => outln!("{}", reply.spiffe_document),
                BundleFormat::Pem => {
                    let bundle = reply
                        .bundle
                        .ok_or_else(|| CliError("server sent no bundle".into()))?;
                    for authority in bundle.x509_authorities {
                        out!(
                            "{}",
                            ::pem::encode(&::pem::Pem::new("CERTIFICATE", authority.asn1))
                        );
                    }
                }
            }
            Ok(())
        }
        BundleCommand::List {
            id,
            format,
            output,
            socket,
        } => federated_bundle::list(id, format, output, &socket).await,
        BundleCommand::Set {
            id,
            bundle_path,
            format,
            socket,
        } => federated_bundle::set(&id, bundle_path, format, &socket).await,
        BundleCommand::Delete { id, socket } => federated_bundle::delete(&id, &socket).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use crate::cli::{Cli, Command};

    #[test]
    fn the_command_line_is_consistent_and_bundle_verbs_parse() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "tessera-server",
            "bundle",
            "list",
            "--format",
            "spiffe",
            "--output",
            "json",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Bundle(super::BundleCommand::List { .. })
        ));
        for args in [
            &["bundle", "set", "--id", "spiffe://other.org"][..],
            &["bundle", "delete", "--id", "spiffe://other.org"][..],
            &["authority", "oauth", "show"][..],
        ] {
            let mut all = vec!["tessera-server"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod hyphen_id_tests {
    use clap::Parser as _;

    use crate::cli::Cli;

    /// Random base64url IDs (authority key IDs, user IDs) can begin with `-`.
    #[test]
    fn ids_beginning_with_a_hyphen_are_values() {
        for args in [
            &[
                "tessera-server",
                "authority",
                "jwt",
                "taint",
                "--authority-id",
                "-Xy_1",
            ][..],
            &[
                "tessera-server",
                "authority",
                "oauth",
                "revoke",
                "--authority-id",
                "-k",
            ][..],
            &["tessera-server", "user", "show", "--id", "-S66abc"][..],
        ] {
            let parsed = Cli::try_parse_from(args);
            assert!(parsed.is_ok(), "{args:?}: {:?}", parsed.err());
        }
    }
}
