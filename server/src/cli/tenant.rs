//! `tessera-server tenant create|list|show|update|delete`: tenants (Keycloak's realms).
//! A tenant's OAuth issuer is `<issuer>/t/<id>`; `user` and `client` act in a tenant with
//! `--tenant <id>`.

use clap::Subcommand;
use serde_json::{Value, json};
use tessera_proto::wire::tessera::admin::v1::tenants_client::TenantsClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateTenantRequest, DeleteTenantRequest, GetTenantRequest, ListTenantsRequest, Tenant,
    UpdateTenantRequest,
};

use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::{CliError, SocketArg, connect};

/// `tenant` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Its ID: 1-63 of a-z, 0-9 and inner '-' (in URLs: `<issuer>/t/<id>`).
        #[arg(long)]
        id: String,
        /// Display name (default: the ID).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List the tenants.
    List {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one tenant.
    Show {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Rename a tenant.
    Update {
        #[arg(long)]
        id: String,
        /// The new display name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete a tenant with every user, client, session and grant it owns.
    Delete {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        socket: SocketArg,
    },
}

fn to_json(t: &Tenant) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

fn print_pretty(t: &Tenant) {
    outln!("ID         : {}", t.id);
    outln!("Name       : {}", t.name);
    outln!("Created at : {}", t.created_at);
    outln!("Updated at : {}", t.updated_at);
}

fn print_one(t: Option<Tenant>, format: Output) -> Result<(), CliError> {
    let t = t.ok_or_else(|| CliError("server sent no tenant".into()))?;
    match format {
        Output::Json => outln!("{}", to_json(&t)),
        Output::Pretty => print_pretty(&t),
    }
    Ok(())
}

/// Runs a `tenant` command.
pub async fn run(command: TenantCommand) -> Result<(), CliError> {
    let socket = match &command {
        TenantCommand::Create { socket, .. }
        | TenantCommand::List { socket, .. }
        | TenantCommand::Show { socket, .. }
        | TenantCommand::Update { socket, .. }
        | TenantCommand::Delete { socket, .. } => socket.clone(),
    };
    let mut api = TenantsClient::new(connect(&socket).await?);
    match command {
        TenantCommand::Create {
            id, name, output, ..
        } => {
            let tenant = Tenant {
                id,
                name: name.unwrap_or_default(),
                ..Default::default()
            };
            let created = api
                .create_tenant(CreateTenantRequest {
                    tenant: Some(tenant),
                })
                .await?
                .into_inner();
            print_one(created.tenant, output.format)
        }
        TenantCommand::List { output, .. } => {
            let all = api
                .list_tenants(ListTenantsRequest {})
                .await?
                .into_inner()
                .tenants;
            print_records(
                &all,
                output.format,
                "tenants",
                "tenant",
                to_json,
                print_pretty,
            );
            Ok(())
        }
        TenantCommand::Show { id, output, .. } => {
            let found = api.get_tenant(GetTenantRequest { id }).await?.into_inner();
            print_one(found.tenant, output.format)
        }
        TenantCommand::Update {
            id, name, output, ..
        } => {
            let tenant = Tenant {
                id,
                name,
                ..Default::default()
            };
            let updated = api
                .update_tenant(UpdateTenantRequest {
                    tenant: Some(tenant),
                })
                .await?
                .into_inner();
            print_one(updated.tenant, output.format)
        }
        TenantCommand::Delete { id, .. } => {
            api.delete_tenant(DeleteTenantRequest { id: id.clone() })
                .await?;
            outln!("Deleted tenant {id}");
            Ok(())
        }
    }
}
