//! `tessera-server api-key create|list|show|revoke|check`: API keys (issue 17).
//!
//! `create` prints the secret once. `check STRING` tells offline (no server contact)
//! whether a string is a well-formed Tessera API key: prefix, length, charset, checksum.

use clap::Subcommand;
use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::duration::parse_duration;
use tessera_proto::wire::tessera::admin::v1::api_key_owner::Owner;
use tessera_proto::wire::tessera::admin::v1::api_keys_client::ApiKeysClient;
use tessera_proto::wire::tessera::admin::v1::{
    ApiKey, ApiKeyOwner, CreateApiKeyRequest, GetApiKeyRequest, ListApiKeysRequest,
    RevokeApiKeyRequest,
};
use zeroize::Zeroizing;

use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::pages::collect_pages;
use super::{CliError, SocketArg, TenantArg, connect_in};

/// The owner of a key: `--user ID` or `--client ID`.
#[derive(Debug, Clone, clap::Args)]
#[group(multiple = false)]
pub struct OwnerArg {
    /// A user's ID (a personal key).
    #[arg(long, allow_hyphen_values = true)]
    pub user: Option<String>,
    /// An OAuth client's ID (a partner system's key).
    #[arg(long, allow_hyphen_values = true)]
    pub client: Option<String>,
}

impl OwnerArg {
    fn wire(&self) -> Option<ApiKeyOwner> {
        let owner = match (&self.user, &self.client) {
            (Some(user), _) => Owner::UserId(user.clone()),
            (None, Some(client)) => Owner::ClientId(client.clone()),
            (None, None) => return None,
        };
        Some(ApiKeyOwner { owner: Some(owner) })
    }
}

/// `api-key` with the tenant whose keys it manages.
#[derive(Debug, clap::Args)]
pub struct ApiKeyArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

/// `api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; prints its secret once.
    Create {
        #[command(flatten)]
        owner: OwnerArg,
        /// A name for the key.
        #[arg(long)]
        name: String,
        /// A scope (repeat; within the owner's).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// An audience / resource its tokens may target (repeat).
        #[arg(long = "audience")]
        audiences: Vec<String>,
        /// Lifetime (`30d`, `12h`); at most `[api_keys] max_lifetime`.
        #[arg(long, default_value = "30d")]
        expires_in: String,
        /// A source network it may be used from (repeat; CIDR).
        #[arg(long = "source-cidr")]
        source_cidrs: Vec<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List keys (of one owner with `--user` / `--client`).
    List {
        #[command(flatten)]
        owner: OwnerArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one key.
    Show {
        /// The key's ID (`ak_…`).
        id: String,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        /// The key's ID (`ak_…`).
        id: String,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Tell whether STRING is a well-formed Tessera API key (offline: checksum only).
    Check {
        /// The string to check.
        string: String,
    },
}

/// The JSON form of a key (never a secret: the wire `ApiKey` has none).
pub fn to_json(k: &ApiKey) -> Value {
    let (owner_type, owner_id) = match k.owner.as_ref().and_then(|o| o.owner.as_ref()) {
        Some(Owner::UserId(id)) => ("user", id.as_str()),
        Some(Owner::ClientId(id)) => ("client", id.as_str()),
        None => ("", ""),
    };
    let zero_null = |v: i64| if v == 0 { Value::Null } else { json!(v) };
    json!({
        "id": k.id,
        "name": k.name,
        "owner_type": owner_type,
        "owner": owner_id,
        "scopes": k.scopes,
        "audiences": k.audiences,
        "allowed_cidrs": k.allowed_cidrs,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "revoked_at": zero_null(k.revoked_at),
        "last_used_at": zero_null(k.last_used_at),
        "last_used_from": k.last_used_from,
    })
}

fn time(secs: i64) -> String {
    time::OffsetDateTime::from(from_unix_seconds(secs)).to_string()
}

fn line(label: &str, value: &str) {
    if !value.is_empty() {
        outln!("{label:<13}: {value}");
    }
}

/// The human form of a key.
pub fn print_pretty(k: &ApiKey) {
    let j = to_json(k);
    line("ID", &k.id);
    line("Name", &k.name);
    line(
        "Owner",
        &format!(
            "{} {}",
            j["owner_type"].as_str().unwrap_or_default(),
            j["owner"].as_str().unwrap_or_default()
        ),
    );
    line("Scopes", &k.scopes.join(" "));
    line("Audiences", &k.audiences.join(" "));
    line("Source CIDRs", &k.allowed_cidrs.join(" "));
    line("Created", &time(k.created_at));
    line("Expires", &time(k.expires_at));
    if k.revoked_at != 0 {
        line("Revoked", &time(k.revoked_at));
    }
    if k.last_used_at != 0 {
        line(
            "Last used",
            &format!("{} from {}", time(k.last_used_at), k.last_used_from),
        );
    }
}

fn print_key(k: Option<ApiKey>, format: Output) -> Result<(), CliError> {
    let k = k.ok_or_else(|| CliError("server sent no API key".into()))?;
    match format {
        Output::Json => outln!("{}", to_json(&k)),
        Output::Pretty => print_pretty(&k),
    }
    Ok(())
}

/// `api-key check`: the verdict on `string`, without contacting any server.
pub fn check(string: &str) -> Result<(), CliError> {
    match crate::api_keys::parse_key(string.trim()) {
        Ok(()) => {
            outln!("well-formed Tessera API key");
            Ok(())
        }
        Err(e) => Err(CliError(e.to_string())),
    }
}

/// Runs an `api-key` command.
pub async fn run(args: ApiKeyArgs) -> Result<(), CliError> {
    let ApiKeyArgs { tenant, command } = args;
    let socket = match &command {
        ApiKeyCommand::Check { string } => return check(string),
        ApiKeyCommand::Create { socket, .. }
        | ApiKeyCommand::List { socket, .. }
        | ApiKeyCommand::Show { socket, .. }
        | ApiKeyCommand::Revoke { socket, .. } => socket.clone(),
    };
    let mut api = ApiKeysClient::new(connect_in(&socket, &tenant).await?);
    match command {
        ApiKeyCommand::Check { .. } => Ok(()),
        ApiKeyCommand::Create {
            owner,
            name,
            scopes,
            audiences,
            expires_in,
            source_cidrs,
            output,
            ..
        } => {
            let owner = owner
                .wire()
                .ok_or_else(|| CliError("--user ID or --client ID is required".into()))?;
            let lifetime =
                parse_duration(&expires_in).map_err(|e| CliError(format!("--expires-in: {e}")))?;
            let request = CreateApiKeyRequest {
                owner: Some(owner),
                name,
                scopes,
                audiences,
                allowed_cidrs: source_cidrs,
                expires_in: i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
            };
            let reply = api.create_api_key(request).await?.into_inner();
            let secret = Zeroizing::new(reply.secret);
            let key = reply
                .api_key
                .ok_or_else(|| CliError("server sent no API key".into()))?;
            match output.format {
                Output::Json => {
                    let mut j = to_json(&key);
                    j["secret"] = json!(secret.as_str());
                    outln!("{j}");
                }
                Output::Pretty => {
                    print_pretty(&key);
                    outln!("Secret       : {}", secret.as_str());
                    outln!("(shown once: store it now; only its hash is kept)");
                }
            }
            Ok(())
        }
        ApiKeyCommand::List { owner, output, .. } => {
            let owner = owner.wire();
            let keys = collect_pages(async |page_token| {
                let request = ListApiKeysRequest {
                    owner: owner.clone(),
                    page_size: 0,
                    page_token,
                };
                let page = api.list_api_keys(request).await?.into_inner();
                Ok((page.api_keys, page.next_page_token))
            })
            .await?;
            print_records(
                &keys,
                output.format,
                "api_keys",
                "API key",
                to_json,
                print_pretty,
            );
            Ok(())
        }
        ApiKeyCommand::Show { id, output, .. } => {
            let reply = api.get_api_key(GetApiKeyRequest { id }).await?.into_inner();
            print_key(reply.api_key, output.format)
        }
        ApiKeyCommand::Revoke { id, output, .. } => {
            let reply = api
                .revoke_api_key(RevokeApiKeyRequest { id })
                .await?
                .into_inner();
            print_key(reply.api_key, output.format)
        }
    }
}
