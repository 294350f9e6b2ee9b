//! `tessera-server bundle show`.

use clap::{Subcommand, ValueEnum};
use tessera_proto::wire::tessera::admin::v1::GetBundleRequest;
use tessera_proto::wire::tessera::admin::v1::bundles_client::BundlesClient;

use super::{CliError, SocketArg, connect};

/// Output formats of `bundle show`.
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
}

/// Runs a `bundle` command.
pub async fn run(command: BundleCommand) -> Result<(), CliError> {
    match command {
        BundleCommand::Show { format, socket } => {
            let mut client = BundlesClient::new(connect(&socket).await?);
            let reply = client.get_bundle(GetBundleRequest {}).await?.into_inner();
            match format {
                BundleFormat::Spiffe => println!("{}", reply.spiffe_document),
                BundleFormat::Pem => {
                    let bundle = reply
                        .bundle
                        .ok_or_else(|| CliError("server sent no bundle".into()))?;
                    for authority in bundle.x509_authorities {
                        print!(
                            "{}",
                            ::pem::encode(&::pem::Pem::new("CERTIFICATE", authority.asn1))
                        );
                    }
                }
            }
            Ok(())
        }
    }
}
