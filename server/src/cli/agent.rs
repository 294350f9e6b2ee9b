//! `tessera-server agent list|show|ban|evict`.

use clap::Subcommand;
use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::wire::tessera::admin::v1::agents_client::AgentsClient;
use tessera_proto::wire::tessera::admin::v1::{
    BanAgentRequest, EvictAgentRequest, GetAgentRequest, ListAgentsRequest,
};
use tessera_proto::wire::tessera::types::v1::AttestedAgent;

use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::pages::collect_pages;
use super::{CliError, SocketArg, connect};

/// The `--spiffe-id` option naming an agent.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentIdArg {
    /// The agent's SPIFFE ID.
    #[arg(long)]
    pub spiffe_id: String,
}

/// `agent` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List the attested agents.
    List {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one attested agent.
    Show {
        #[command(flatten)]
        id: AgentIdArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Ban an agent: its calls and re-attestations are refused.
    Ban {
        #[command(flatten)]
        id: AgentIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Evict an agent: its record is deleted and it must attest again.
    Evict {
        #[command(flatten)]
        id: AgentIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

fn to_json(a: &AttestedAgent) -> Value {
    let selectors: Vec<String> = a
        .selectors
        .iter()
        .map(|s| format!("{}:{}", s.r#type, s.value))
        .collect();
    json!({
        "spiffe_id": a.spiffe_id,
        "attestation_type": a.attestation_type,
        "selectors": selectors,
        "x509_svid_expires_at": a.x509_svid_expires_at,
        "banned": a.banned,
        "can_reattest": a.can_reattest,
    })
}

fn print_pretty(a: &AttestedAgent) {
    let expires = time::OffsetDateTime::from(from_unix_seconds(a.x509_svid_expires_at));
    outln!("SPIFFE ID         : {}", a.spiffe_id);
    outln!("Attestation type  : {}", a.attestation_type);
    outln!("Expiration time   : {expires}");
    outln!("Serial number     : {}", a.x509_svid_serial);
    outln!("Can re-attest     : {}", a.can_reattest);
    outln!("Banned            : {}", a.banned);
    for s in &a.selectors {
        outln!("Selector          : {}:{}", s.r#type, s.value);
    }
}

/// Runs an `agent` command.
pub async fn run(command: AgentCommand) -> Result<(), CliError> {
    let socket = match &command {
        AgentCommand::List { socket, .. }
        | AgentCommand::Show { socket, .. }
        | AgentCommand::Ban { socket, .. }
        | AgentCommand::Evict { socket, .. } => socket.clone(),
    };
    let mut client = AgentsClient::new(connect(&socket).await?);
    match command {
        AgentCommand::List { output, .. } => {
            let agents = collect_pages(async |page_token| {
                let page = client
                    .list_agents(ListAgentsRequest {
                        page_size: 0,
                        page_token,
                    })
                    .await?
                    .into_inner();
                Ok((page.agents, page.next_page_token))
            })
            .await?;
            print_records(
                &agents,
                output.format,
                "agents",
                "attested agent",
                to_json,
                print_pretty,
            );
        }
        AgentCommand::Show { id, output, .. } => {
            let agent = client
                .get_agent(GetAgentRequest {
                    spiffe_id: id.spiffe_id,
                })
                .await?
                .into_inner()
                .agent
                .ok_or_else(|| CliError("server sent no agent".into()))?;
            match output.format {
                Output::Json => outln!("{}", to_json(&agent)),
                Output::Pretty => print_pretty(&agent),
            }
        }
        AgentCommand::Ban { id, .. } => {
            client
                .ban_agent(BanAgentRequest {
                    spiffe_id: id.spiffe_id,
                })
                .await?;
            outln!("Agent banned successfully");
        }
        AgentCommand::Evict { id, .. } => {
            client
                .evict_agent(EvictAgentRequest {
                    spiffe_id: id.spiffe_id,
                })
                .await?;
            outln!("Agent evicted successfully");
        }
    }
    Ok(())
}
