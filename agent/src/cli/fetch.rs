//! `api fetch x509|jwt|bundle`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use tessera_proto::wire::workload::{JwtsvidRequest, X509BundlesRequest, X509svidRequest};
use x509_parser::prelude::*;

use super::client::request;
use super::files::{certs_pem, split_der, write_x509};
use super::{CliError, SocketArg, WorkloadClient, emit, say};

/// What to fetch.
#[derive(Debug, Subcommand)]
pub enum FetchCommand {
    /// The caller's X.509-SVIDs (and bundles).
    X509 {
        /// Write `svid.pem`, `svid.key` (0600), `bundle.pem` and federated bundles here.
        #[arg(long)]
        write: Option<PathBuf>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// JWT-SVIDs for an audience.
    Jwt {
        /// The audience (repeatable).
        #[arg(long, required = true)]
        audience: Vec<String>,
        /// One of the caller's SPIFFE IDs; default: all of them.
        #[arg(long)]
        spiffe_id: Option<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// The X.509 bundles the caller trusts, as PEM.
    Bundle {
        #[command(flatten)]
        socket: SocketArg,
    },
}

fn validity(der: &[u8]) -> String {
    match X509Certificate::from_der(der) {
        Ok((_, c)) => format!(
            "Valid after: {}\nValid until: {}",
            c.validity().not_before,
            c.validity().not_after
        ),
        Err(_) => "(unparsable certificate)".into(),
    }
}

/// Runs a `fetch` command.
pub async fn run(command: FetchCommand) -> Result<(), CliError> {
    match command {
        FetchCommand::X509 { write, socket } => {
            let mut out = String::new();
            let mut client = WorkloadClient::connect(&socket.resolve()?).await?;
            let started = Instant::now();
            let mut stream = client
                .api()
                .fetch_x509svid(request(X509svidRequest {}))
                .await?
                .into_inner();
            let response = stream
                .message()
                .await?
                .ok_or_else(|| CliError("the agent closed the stream without an SVID".into()))?;
            say!(
                out,
                "Received {} svid(s) after {}ms",
                response.svids.len(),
                started.elapsed().as_millis()
            );
            for svid in &response.svids {
                let chain = split_der(&svid.x509_svid)?;
                say!(out, "\nSPIFFE ID:  {}", svid.spiffe_id);
                if !svid.hint.is_empty() {
                    say!(out, "Hint:       {}", svid.hint);
                }
                if let Some(leaf) = chain.first() {
                    say!(out, "{}", validity(leaf));
                }
                say!(out, "Intermediates: {}", chain.len().saturating_sub(1));
                say!(out, "CA certificates: {}", split_der(&svid.bundle)?.len());
            }
            if let Some(dir) = write {
                let files = write_x509(&dir, &response)?;
                say!(out, "\nWrote {} to {}", files.join(", "), dir.display());
            }
            emit(&out)
        }
        FetchCommand::Jwt {
            audience,
            spiffe_id,
            socket,
        } => {
            let mut out = String::new();
            let mut client = WorkloadClient::connect(&socket.resolve()?).await?;
            let reply = client
                .api()
                .fetch_jwtsvid(request(JwtsvidRequest {
                    audience,
                    spiffe_id: spiffe_id.unwrap_or_default(),
                }))
                .await?
                .into_inner();
            for svid in reply.svids {
                say!(out, "token({}):\n\t{}", svid.spiffe_id, svid.svid);
            }
            emit(&out)
        }
        FetchCommand::Bundle { socket } => {
            let mut out = String::new();
            let mut client = WorkloadClient::connect(&socket.resolve()?).await?;
            let mut stream = client
                .api()
                .fetch_x509_bundles(request(X509BundlesRequest {}))
                .await?
                .into_inner();
            let response = stream
                .message()
                .await?
                .ok_or_else(|| CliError("the agent closed the stream without bundles".into()))?;
            let mut bundles: Vec<_> = response.bundles.into_iter().collect();
            bundles.sort();
            for (td, der) in bundles {
                say!(out, "# {td}");
                out.push_str(&certs_pem(&der)?);
            }
            emit(&out)
        }
    }
}
