//! `tessera-server federation create|list|show|update|delete`: federation relationships
//! (SPIRE's `federation` verbs; its flags in kebab case).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::admin::v1::federation_client::FederationClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateFederationRelationshipRequest, DeleteFederationRelationshipRequest,
    FederationRelationship, FederationRelationshipResponse, GetFederationRelationshipRequest,
    ListFederationRelationshipsRequest, UpdateFederationRelationshipRequest,
};

use super::bundle::BundleFormat;
use super::federated_bundle::{read_input, to_document};
use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::{CliError, SocketArg, connect};

/// `--bundle-endpoint-profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Web PKI server certificate.
    #[value(name = "https_web")]
    HttpsWeb,
    /// The endpoint's X.509-SVID, verified with the trust domain's bundle.
    #[value(name = "https_spiffe")]
    HttpsSpiffe,
}

impl ProfileArg {
    fn wire(self) -> &'static str {
        match self {
            Self::HttpsWeb => "https_web",
            Self::HttpsSpiffe => "https_spiffe",
        }
    }
}

/// What `create` and `update` take.
#[derive(Debug, Clone, clap::Args)]
pub struct RelationshipArgs {
    /// The other trust domain (`b.example` or `spiffe://b.example`).
    #[arg(long)]
    pub trust_domain: String,
    /// Its bundle endpoint (`https://host:port/`).
    #[arg(long)]
    pub bundle_endpoint_url: String,
    /// How the endpoint authenticates.
    #[arg(long, value_enum)]
    pub bundle_endpoint_profile: ProfileArg,
    /// `https_spiffe`: the SPIFFE ID of the endpoint (e.g. `spiffe://b.example/tessera/server`).
    #[arg(long)]
    pub endpoint_spiffe_id: Option<String>,
    /// The trust domain's bundle to start from (required for `https_spiffe` unless one is
    /// held already); `-` reads stdin.
    #[arg(long)]
    pub trust_domain_bundle_path: Option<PathBuf>,
    /// Format of the bundle file.
    #[arg(long, value_enum, default_value = "pem")]
    pub trust_domain_bundle_format: BundleFormat,
}

/// The `--trust-domain` of `show` and `delete` (`--id` as in SPIRE).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustDomainArg {
    /// The other trust domain.
    #[arg(long, alias = "id")]
    pub trust_domain: String,
}

/// `federation` subcommands.
#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// Create a relationship with another trust domain.
    Create {
        #[command(flatten)]
        args: RelationshipArgs,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List relationships with their last refresh.
    List {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show a relationship, its last refresh and error, and the bundle held.
    Show {
        #[command(flatten)]
        id: TrustDomainArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Replace a relationship (and, with a bundle file, the bundle held).
    Update {
        #[command(flatten)]
        args: RelationshipArgs,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete a relationship (the bundle held stays until `bundle delete`).
    Delete {
        #[command(flatten)]
        id: TrustDomainArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// The request parts of `create` / `update`.
fn request(args: RelationshipArgs) -> Result<(FederationRelationship, String), CliError> {
    let bundle = match &args.trust_domain_bundle_path {
        None => String::new(),
        Some(path) => {
            let td = TrustDomain::from_id_or_name(&args.trust_domain)
                .map_err(|e| CliError(format!("--trust-domain {:?}: {e}", args.trust_domain)))?;
            let path = (path.as_os_str() != "-").then_some(path);
            let text = read_input(path)?;
            to_document(&td, &text, args.trust_domain_bundle_format)?
        }
    };
    Ok((
        FederationRelationship {
            trust_domain: args.trust_domain,
            bundle_endpoint_url: args.bundle_endpoint_url,
            bundle_endpoint_profile: args.bundle_endpoint_profile.wire().into(),
            endpoint_spiffe_id: args.endpoint_spiffe_id.unwrap_or_default(),
        },
        bundle,
    ))
}

fn when(secs: i64) -> String {
    if secs <= 0 {
        return "never".into();
    }
    time::OffsetDateTime::from(from_unix_seconds(secs)).to_string()
}

fn to_json(r: &FederationRelationshipResponse) -> Value {
    let rel = r.relationship.clone().unwrap_or_default();
    let status = r.status.as_ref().map(|s| {
        json!({
            "last_attempt_at": s.last_attempt_at,
            "last_refresh_at": s.last_refresh_at,
            "last_error": s.last_error,
            "last_sequence": s.has_sequence.then_some(s.last_sequence),
            "next_refresh_at": s.next_refresh_at,
        })
    });
    let bundle = r.bundle.as_ref().map(|b| {
        json!({
            "sequence": b.sequence,
            "x509_authorities": b.x509_authorities.len(),
            "jwt_authorities": b.jwt_authorities.len(),
        })
    });
    json!({
        "trust_domain": rel.trust_domain,
        "bundle_endpoint_url": rel.bundle_endpoint_url,
        "bundle_endpoint_profile": rel.bundle_endpoint_profile,
        "endpoint_spiffe_id": rel.endpoint_spiffe_id,
        "status": status,
        "bundle": bundle,
    })
}

fn print_pretty(r: &FederationRelationshipResponse) {
    let rel = r.relationship.clone().unwrap_or_default();
    outln!("Trust domain              : {}", rel.trust_domain);
    outln!("Bundle endpoint URL       : {}", rel.bundle_endpoint_url);
    outln!(
        "Bundle endpoint profile   : {}",
        rel.bundle_endpoint_profile
    );
    if !rel.endpoint_spiffe_id.is_empty() {
        outln!("Endpoint SPIFFE ID        : {}", rel.endpoint_spiffe_id);
    }
    let status = r.status.clone().unwrap_or_default();
    outln!(
        "Last refresh              : {}",
        when(status.last_refresh_at)
    );
    outln!(
        "Last attempt              : {}",
        when(status.last_attempt_at)
    );
    if status.last_error.is_empty() {
        outln!("Last error                : none");
    } else {
        outln!("Last error                : {}", status.last_error);
    }
    if status.next_refresh_at > 0 {
        outln!(
            "Next refresh              : {}",
            when(status.next_refresh_at)
        );
    }
    match &r.bundle {
        Some(b) => outln!(
            "Bundle held               : sequence {}, {} X.509 and {} JWT authorities",
            b.sequence,
            b.x509_authorities.len(),
            b.jwt_authorities.len()
        ),
        None => outln!("Bundle held               : none"),
    }
}

fn print_one(r: &FederationRelationshipResponse, output: Output) {
    match output {
        Output::Json => outln!("{}", to_json(r)),
        Output::Pretty => print_pretty(r),
    }
}

/// Runs a `federation` command.
pub async fn run(command: FederationCommand) -> Result<(), CliError> {
    let socket = match &command {
        FederationCommand::Create { socket, .. }
        | FederationCommand::List { socket, .. }
        | FederationCommand::Show { socket, .. }
        | FederationCommand::Update { socket, .. }
        | FederationCommand::Delete { socket, .. } => socket.clone(),
    };
    match command {
        FederationCommand::Create { args, output, .. } => {
            let (relationship, trust_domain_bundle) = request(args)?;
            let mut client = FederationClient::new(connect(&socket).await?);
            let created = client
                .create_federation_relationship(CreateFederationRelationshipRequest {
                    relationship: Some(relationship),
                    trust_domain_bundle,
                })
                .await?
                .into_inner();
            print_one(&created, output.format);
        }
        FederationCommand::Update { args, output, .. } => {
            let (relationship, trust_domain_bundle) = request(args)?;
            let mut client = FederationClient::new(connect(&socket).await?);
            let updated = client
                .update_federation_relationship(UpdateFederationRelationshipRequest {
                    relationship: Some(relationship),
                    trust_domain_bundle,
                })
                .await?
                .into_inner();
            print_one(&updated, output.format);
        }
        FederationCommand::List { output, .. } => {
            let mut client = FederationClient::new(connect(&socket).await?);
            let listed = client
                .list_federation_relationships(ListFederationRelationshipsRequest {})
                .await?
                .into_inner()
                .relationships;
            print_records(
                &listed,
                output.format,
                "relationships",
                "federation relationship",
                to_json,
                print_pretty,
            );
        }
        FederationCommand::Show { id, output, .. } => {
            let mut client = FederationClient::new(connect(&socket).await?);
            let shown = client
                .get_federation_relationship(GetFederationRelationshipRequest {
                    trust_domain: id.trust_domain,
                })
                .await?
                .into_inner();
            print_one(&shown, output.format);
        }
        FederationCommand::Delete { id, .. } => {
            let mut client = FederationClient::new(connect(&socket).await?);
            client
                .delete_federation_relationship(DeleteFederationRelationshipRequest {
                    trust_domain: id.trust_domain.clone(),
                })
                .await?;
            outln!("Federation relationship with {} deleted", id.trust_domain);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    #[test]
    fn federation_verbs_parse_with_spire_like_flags() {
        let cli = Cli::try_parse_from([
            "tessera-server",
            "federation",
            "create",
            "--trust-domain",
            "b.example",
            "--bundle-endpoint-url",
            "https://127.0.0.1:8443",
            "--bundle-endpoint-profile",
            "https_spiffe",
            "--endpoint-spiffe-id",
            "spiffe://b.example/tessera/server",
            "--trust-domain-bundle-path",
            "b.pem",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Federation(_)));
        for verb in [["show", "--id"], ["delete", "--trust-domain"]] {
            Cli::try_parse_from([
                "tessera-server",
                "federation",
                verb[0],
                verb[1],
                "b.example",
            ])
            .unwrap();
        }
        let bad = Cli::try_parse_from([
            "tessera-server",
            "federation",
            "create",
            "--trust-domain",
            "b.example",
            "--bundle-endpoint-url",
            "https://h/",
            "--bundle-endpoint-profile",
            "https_pki",
        ]);
        assert!(bad.is_err());
    }
}
