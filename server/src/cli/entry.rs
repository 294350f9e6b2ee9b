//! `tessera-server entry create|show|update|delete|count` (SPIRE's `entry`, kebab-case).

use clap::{Args, Subcommand};
use tessera_proto::duration::parse_duration;
use tessera_proto::identity::SpiffeId;
use tessera_proto::wire::tessera::admin::v1::entries_client::EntriesClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateEntriesRequest, DeleteEntriesRequest, EntryResult, GetEntryRequest, ListEntriesRequest,
    UpdateEntryRequest,
};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector};

use super::entry_output::{OutputArg, print_count, print_deleted, print_entries};
use super::pages::collect_pages;
use super::{CliError, SocketArg, connect};
use crate::access::Role;
use crate::registration::server_id;

/// Largest page asked for when listing.
const PAGE_SIZE: u32 = 1000;

/// The fields of an entry, shared by `create` and `update` (which replaces the entry).
#[derive(Debug, Args)]
pub struct EntryFields {
    /// The SPIFFE ID the entry issues.
    #[arg(long)]
    pub spiffe_id: String,
    /// The agent (or entry) SPIFFE ID that may obtain this identity.
    #[arg(long, required_unless_present = "node", conflicts_with = "node")]
    pub parent_id: Option<String>,
    /// A selector `type:value` (repeatable); all must match.
    #[arg(long = "selector", value_name = "TYPE:VALUE", required = true)]
    pub selectors: Vec<String>,
    /// X.509-SVID TTL, e.g. `1h` (default: the server's).
    #[arg(long, value_name = "DUR")]
    pub x509_svid_ttl: Option<String>,
    /// JWT-SVID TTL, e.g. `5m` (default: the server's).
    #[arg(long, value_name = "DUR")]
    pub jwt_svid_ttl: Option<String>,
    /// A DNS name for the X.509-SVID (repeatable; the first is the default).
    #[arg(long = "dns-name", value_name = "NAME")]
    pub dns_names: Vec<String>,
    /// The workload may call the admin API with role `admin` (= `--admin-role admin`).
    #[arg(long, conflicts_with = "admin_role")]
    pub admin: bool,
    /// The admin role of the workload's SVIDs on the admin mTLS listener: admin, operator,
    /// identity-admin, auditor (only a caller with role admin may set one).
    #[arg(long, value_name = "ROLE")]
    pub admin_role: Option<String>,
    /// The entry describes a downstream (nested) server.
    #[arg(long)]
    pub downstream: bool,
    /// A trust domain whose bundle the workload also receives (repeatable).
    #[arg(long = "federates-with", value_name = "TD")]
    pub federates_with: Vec<String>,
    /// A hint for workloads choosing between identities.
    #[arg(long)]
    pub hint: Option<String>,
    /// When the entry expires (Unix seconds; default never).
    #[arg(long, value_name = "UNIX")]
    pub expires_at: Option<i64>,
    /// Make a node alias: the parent is the server (`spiffe://<td>/tessera/server`) and every
    /// node whose selectors include these gets the identity.
    #[arg(long)]
    pub node: bool,
}

fn ttl(flag: &str, raw: Option<&str>) -> Result<i32, CliError> {
    let Some(raw) = raw else { return Ok(0) };
    let d = parse_duration(raw).map_err(|e| CliError(format!("{flag} {raw:?}: {e}")))?;
    if d.subsec_nanos() != 0 {
        return Err(CliError(format!("{flag} {raw:?}: use whole seconds")));
    }
    i32::try_from(d.as_secs()).map_err(|_| CliError(format!("{flag} {raw:?}: too long")))
}

impl EntryFields {
    fn into_entry(self, id: String) -> Result<Entry, CliError> {
        let parent_id = match (self.node, self.parent_id) {
            (false, Some(p)) => p,
            (true, _) => {
                let id = SpiffeId::parse(&self.spiffe_id)
                    .map_err(|e| CliError(format!("--spiffe-id: invalid SPIFFE ID: {e}")))?;
                server_id(id.trust_domain()).into_string()
            }
            (false, None) => return Err(CliError("--parent-id or --node is required".into())),
        };
        let admin_role = match self.admin_role.as_deref() {
            None if self.admin => Role::Admin.name().to_string(),
            None => String::new(),
            Some(raw) => raw
                .parse::<Role>()
                .map_err(|e| CliError(format!("--admin-role: {e}")))?
                .name()
                .to_string(),
        };
        let selectors = self
            .selectors
            .iter()
            .map(|s| match s.split_once(':') {
                Some((kind, value)) => Ok(Selector {
                    r#type: kind.to_string(),
                    value: value.to_string(),
                }),
                None => Err(CliError(format!(
                    "--selector {s:?}: expected type:value (e.g. unix:uid:1000)"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Entry {
            id,
            spiffe_id: self.spiffe_id,
            parent_id,
            selectors,
            x509_svid_ttl: ttl("--x509-svid-ttl", self.x509_svid_ttl.as_deref())?,
            jwt_svid_ttl: ttl("--jwt-svid-ttl", self.jwt_svid_ttl.as_deref())?,
            dns_names: self.dns_names,
            admin: admin_role == Role::Admin.name(),
            admin_role,
            downstream: self.downstream,
            federates_with: self.federates_with,
            hint: self.hint.unwrap_or_default(),
            expires_at: self.expires_at.unwrap_or(0),
            ..Entry::default()
        })
    }
}

/// `entry` subcommands.
#[derive(Debug, Subcommand)]
pub enum EntryCommand {
    /// Create a registration entry.
    Create {
        #[command(flatten)]
        fields: EntryFields,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show entries: one by ID, or all matching the filters.
    Show {
        /// Only the entry with this ID.
        #[arg(long)]
        entry_id: Option<String>,
        /// Only entries with this SPIFFE ID.
        #[arg(long)]
        spiffe_id: Option<String>,
        /// Only entries with this parent ID.
        #[arg(long)]
        parent_id: Option<String>,
        /// Only entries having this selector `type:value` (repeatable: all of them).
        #[arg(long = "selector", value_name = "TYPE:VALUE")]
        selectors: Vec<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Replace an entry's fields (all of them: give the full entry, as for create).
    Update {
        /// The entry to update.
        #[arg(long)]
        entry_id: String,
        #[command(flatten)]
        fields: EntryFields,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete an entry.
    Delete {
        /// The entry to delete.
        #[arg(long)]
        entry_id: String,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Count the entries.
    Count {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// The entry of a batch result, or the item's error.
fn item(result: EntryResult) -> Result<Entry, CliError> {
    if result.code != tonic::Code::Ok as i32 {
        let code = tonic::Code::from(result.code);
        return Err(CliError(format!(
            "server refused: {} ({code:?})",
            result.message
        )));
    }
    result
        .entry
        .ok_or_else(|| CliError("server sent no entry".into()))
}

async fn list_all(
    client: &mut EntriesClient<super::AdminChannel>,
    filter: ListEntriesRequest,
) -> Result<Vec<Entry>, CliError> {
    collect_pages(async |page_token| {
        let request = ListEntriesRequest {
            page_size: PAGE_SIZE,
            page_token,
            ..filter.clone()
        };
        let page = client.list_entries(request).await?.into_inner();
        Ok((page.entries, page.next_page_token))
    })
    .await
}

fn selector_filter(raw: &[String]) -> Result<Vec<Selector>, CliError> {
    raw.iter()
        .map(|s| {
            s.split_once(':')
                .map(|(t, v)| Selector {
                    r#type: t.to_string(),
                    value: v.to_string(),
                })
                .ok_or_else(|| CliError(format!("--selector {s:?}: expected type:value")))
        })
        .collect()
}

/// Runs an `entry` command.
pub async fn run(command: EntryCommand) -> Result<(), CliError> {
    let (socket, output) = match &command {
        EntryCommand::Create { socket, output, .. }
        | EntryCommand::Show { socket, output, .. }
        | EntryCommand::Update { socket, output, .. }
        | EntryCommand::Delete { socket, output, .. }
        | EntryCommand::Count { socket, output } => (socket.clone(), *output),
    };
    let mut client = EntriesClient::new(connect(&socket).await?);
    match command {
        EntryCommand::Create { fields, .. } => {
            let entries = vec![fields.into_entry(String::new())?];
            let reply = client
                .create_entries(CreateEntriesRequest { entries })
                .await?
                .into_inner();
            let created = reply
                .results
                .into_iter()
                .map(item)
                .collect::<Result<Vec<_>, _>>()?;
            print_entries(&created, output, false)
        }
        EntryCommand::Show {
            entry_id,
            spiffe_id,
            parent_id,
            selectors,
            ..
        } => {
            let by_selectors = selector_filter(&selectors)?;
            let found = match entry_id {
                Some(id) => {
                    let reply = client.get_entry(GetEntryRequest { id }).await?;
                    reply.into_inner().entry.into_iter().collect()
                }
                None => {
                    let request = ListEntriesRequest {
                        by_spiffe_id: spiffe_id.unwrap_or_default(),
                        by_parent_id: parent_id.unwrap_or_default(),
                        by_selectors,
                        ..ListEntriesRequest::default()
                    };
                    list_all(&mut client, request).await?
                }
            };
            print_entries(&found, output, true)
        }
        EntryCommand::Update {
            entry_id, fields, ..
        } => {
            let entry = fields.into_entry(entry_id)?;
            let reply = client
                .update_entry(UpdateEntryRequest { entry: Some(entry) })
                .await?;
            let updated = reply.into_inner().entry;
            print_entries(&updated.into_iter().collect::<Vec<_>>(), output, false)
        }
        EntryCommand::Delete { entry_id, .. } => {
            let reply = client
                .delete_entries(DeleteEntriesRequest {
                    ids: vec![entry_id],
                })
                .await?
                .into_inner();
            let deleted = reply
                .results
                .into_iter()
                .map(item)
                .collect::<Result<Vec<_>, _>>()?;
            print_deleted(&deleted, output)
        }
        EntryCommand::Count { .. } => {
            let all = list_all(&mut client, ListEntriesRequest::default()).await?;
            print_count(all.len(), output)
        }
    }
}
