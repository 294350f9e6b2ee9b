//! `tessera-server client create|show|list|update|delete|rotate-secret`: OAuth clients.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;
use tessera_proto::duration::parse_duration;
use tessera_proto::wire::tessera::admin::v1::clients_client::ClientsClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateClientRequest, CreateClientResponse, DeleteClientRequest, GetClientRequest,
    ListClientsRequest, OAuthClient, RotateClientSecretRequest, UpdateClientRequest,
};

use super::client_output::{print_pretty, to_json};
use super::output::outln;
use super::output::{Output, OutputArg, print_records};
use super::pages::collect_pages;
use super::{CliError, SocketArg, TenantArg, connect_in};

const AUTH_METHODS: [&str; 6] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "spiffe_jwt",
    "none",
];

/// The `--client-id` option naming a client.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientIdArg {
    /// The client's ID.
    #[arg(long)]
    pub client_id: String,
}

/// Settings shared by `create` and `update` (list options replace the stored list when
/// given on `update`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientFields {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// An allowed grant type (repeatable), e.g. `client_credentials`.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// An allowed scope (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// An allowed audience / resource (repeatable).
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// A redirect URI, matched exactly (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Where logout (OpenID RP-Initiated Logout) may send the browser back, matched exactly
    /// (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// How the client authenticates at the token endpoint.
    #[arg(long, value_parser = AUTH_METHODS)]
    pub auth_method: Option<String>,
    /// The client's SPIFFE ID (required for spiffe_jwt).
    #[arg(long)]
    pub spiffe_id: Option<String>,
    /// A file holding the client's JWK set (for private_key_jwt).
    #[arg(long)]
    pub jwks_file: Option<PathBuf>,
    /// The certificate subject DN for tls_client_auth, RFC 4514 form
    /// (e.g. `CN=payments,O=Example Corp,C=DE`).
    #[arg(long)]
    pub tls_subject_dn: Option<String>,
    /// With --tls-subject-dn: the trust domain whose CAs may vouch for the DN (a federated
    /// one); default (or `""` on update) the own trust domain.
    #[arg(long)]
    pub tls_trust_domain: Option<String>,
    /// Access-token lifetime: seconds (`600`) or a duration (`10m`).
    #[arg(long)]
    pub access_token_ttl: Option<String>,
}

/// `client` with the tenant whose OAuth clients it manages.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    #[command(subcommand)]
    pub command: ClientCommand,
}

/// `client` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its secret once (only a hash is stored).
    Create {
        #[command(flatten)]
        id: ClientIdArg,
        #[command(flatten)]
        fields: ClientFields,
        /// A public client (auth method none).
        #[arg(long)]
        public: bool,
        /// A first-party client.
        #[arg(long)]
        first_party: bool,
        /// May introspect tokens issued to other clients (a resource server).
        #[arg(long)]
        introspect_any: bool,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one client (never its secret).
    Show {
        #[command(flatten)]
        id: ClientIdArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List the clients.
    List {
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Change a client: only the given options change.
    Update {
        #[command(flatten)]
        id: ClientIdArg,
        #[command(flatten)]
        fields: ClientFields,
        /// Enable or disable the client.
        #[arg(long)]
        enabled: Option<bool>,
        /// Make the client public or confidential.
        #[arg(long)]
        public: Option<bool>,
        /// Mark the client first-party or not.
        #[arg(long)]
        first_party: Option<bool>,
        /// Allow or forbid introspecting tokens issued to other clients.
        #[arg(long)]
        introspect_any: Option<bool>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Delete a client and its secret.
    Delete {
        #[command(flatten)]
        id: ClientIdArg,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Generate a new secret; the previous one stays valid for the grace period.
    RotateSecret {
        #[command(flatten)]
        id: ClientIdArg,
        /// How long the previous secret stays valid: seconds or a duration (default 1h).
        #[arg(long)]
        grace_period: Option<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// `value` of option `flag` in whole seconds (≥ 1): a number or a duration such as `1h`.
fn seconds(flag: &str, value: &str) -> Result<i32, CliError> {
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => parse_duration(value)
            .map_err(|e| CliError(format!("--{flag} {value:?}: {e}")))?
            .as_secs(),
    };
    if secs == 0 {
        return Err(CliError(format!("--{flag} must be at least 1s")));
    }
    i32::try_from(secs).map_err(|_| CliError(format!("--{flag} {value:?} is too long")))
}

impl ClientFields {
    /// Applies the given options to `c`.
    fn apply(self, c: &mut OAuthClient) -> Result<(), CliError> {
        let replace = |dst: &mut Vec<String>, src: Vec<String>| {
            if !src.is_empty() {
                *dst = src;
            }
        };
        if let Some(name) = self.name {
            c.name = name;
        }
        replace(&mut c.grant_types, self.grant_types);
        replace(&mut c.scopes, self.scopes);
        replace(&mut c.audiences, self.audiences);
        replace(&mut c.redirect_uris, self.redirect_uris);
        replace(
            &mut c.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        if let Some(m) = self.auth_method {
            c.auth_method = m;
        }
        if let Some(id) = self.spiffe_id {
            c.spiffe_id = id;
        }
        if let Some(path) = self.jwks_file {
            c.jwks = std::fs::read_to_string(&path)
                .map_err(|e| CliError(format!("--jwks-file {}: {e}", path.display())))?;
        }
        if let Some(dn) = self.tls_subject_dn {
            c.tls_subject_dn = dn;
        }
        if let Some(td) = self.tls_trust_domain {
            c.tls_trust_domain = td;
        }
        if let Some(ttl) = self.access_token_ttl {
            c.access_token_ttl = seconds("access-token-ttl", &ttl)?;
        }
        Ok(())
    }
}

fn print_secret(reply: CreateClientResponse, format: Output) -> Result<(), CliError> {
    let client = reply
        .client
        .ok_or_else(|| CliError("server sent no client".into()))?;
    let secret = (!reply.client_secret.is_empty()).then_some(reply.client_secret);
    match format {
        Output::Json => outln!(
            "{}",
            json!({"client_id": client.client_id, "client_secret": secret})
        ),
        Output::Pretty => {
            outln!("Client ID         : {}", client.client_id);
            if let Some(secret) = secret {
                outln!("Client secret     : {secret}");
                outln!("(shown once: only its hash is stored)");
            }
        }
    }
    Ok(())
}

fn print_client(c: Option<OAuthClient>, format: Output) -> Result<(), CliError> {
    let c = c.ok_or_else(|| CliError("server sent no client".into()))?;
    match format {
        Output::Json => outln!("{}", to_json(&c)),
        Output::Pretty => print_pretty(&c),
    }
    Ok(())
}

/// Runs a `client` command.
pub async fn run(args: ClientArgs) -> Result<(), CliError> {
    let ClientArgs { tenant, command } = args;
    let socket = match &command {
        ClientCommand::Create { socket, .. }
        | ClientCommand::Show { socket, .. }
        | ClientCommand::List { socket, .. }
        | ClientCommand::Update { socket, .. }
        | ClientCommand::Delete { socket, .. }
        | ClientCommand::RotateSecret { socket, .. } => socket.clone(),
    };
    let mut api = ClientsClient::new(connect_in(&socket, &tenant).await?);
    match command {
        ClientCommand::Create {
            id,
            fields,
            public,
            first_party,
            introspect_any,
            output,
            ..
        } => {
            let mut client = OAuthClient {
                client_id: id.client_id,
                public,
                first_party,
                introspect_any,
                enabled: true,
                ..Default::default()
            };
            fields.apply(&mut client)?;
            let request = CreateClientRequest {
                client: Some(client),
            };
            let reply = api.create_client(request).await?.into_inner();
            print_secret(reply, output.format)
        }
        ClientCommand::Show { id, output, .. } => {
            let request = GetClientRequest {
                client_id: id.client_id,
            };
            let reply = api.get_client(request).await?.into_inner();
            print_client(reply.client, output.format)
        }
        ClientCommand::List { output, .. } => {
            let clients = collect_pages(async |page_token| {
                let request = ListClientsRequest {
                    page_size: 0,
                    page_token,
                };
                let page = api.list_clients(request).await?.into_inner();
                Ok((page.clients, page.next_page_token))
            })
            .await?;
            print_records(
                &clients,
                output.format,
                "clients",
                "client",
                to_json,
                print_pretty,
            );
            Ok(())
        }
        ClientCommand::Update {
            id,
            fields,
            enabled,
            public,
            first_party,
            introspect_any,
            output,
            ..
        } => {
            let request = GetClientRequest {
                client_id: id.client_id,
            };
            let mut client = api
                .get_client(request)
                .await?
                .into_inner()
                .client
                .ok_or_else(|| CliError("server sent no client".into()))?;
            fields.apply(&mut client)?;
            client.enabled = enabled.unwrap_or(client.enabled);
            client.public = public.unwrap_or(client.public);
            client.first_party = first_party.unwrap_or(client.first_party);
            client.introspect_any = introspect_any.unwrap_or(client.introspect_any);
            let request = UpdateClientRequest {
                client: Some(client),
            };
            let reply = api.update_client(request).await?.into_inner();
            print_client(reply.client, output.format)
        }
        ClientCommand::Delete { id, .. } => {
            let request = DeleteClientRequest {
                client_id: id.client_id,
            };
            api.delete_client(request).await?;
            outln!("Client deleted successfully");
            Ok(())
        }
        ClientCommand::RotateSecret {
            id,
            grace_period,
            output,
            ..
        } => {
            let grace_period = grace_period
                .as_deref()
                .map(|g| seconds("grace-period", g))
                .transpose()?
                .unwrap_or(0);
            let request = RotateClientSecretRequest {
                client_id: id.client_id,
                grace_period,
            };
            let reply = api.rotate_client_secret(request).await?.into_inner();
            print_secret(reply, output.format)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(seconds("x", "600").unwrap(), 600);
        assert_eq!(seconds("x", "1h").unwrap(), 3600);
        assert!(seconds("x", "0").is_err());
        assert!(seconds("x", "later").is_err());
    }

    #[test]
    fn update_fields_replace_only_what_is_given() {
        let mut c = OAuthClient {
            client_id: "a".into(),
            name: "old".into(),
            scopes: vec!["s1".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        };
        ClientFields {
            scopes: vec!["s2".into(), "s3".into()],
            access_token_ttl: Some("5m".into()),
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            ..Default::default()
        }
        .apply(&mut c)
        .unwrap();
        assert_eq!(c.name, "old");
        assert_eq!(c.grant_types, ["client_credentials"]);
        assert_eq!(c.scopes, ["s2", "s3"]);
        assert_eq!(c.access_token_ttl, 300);
        assert_eq!(c.post_logout_redirect_uris, ["https://app.example/bye"]);
        assert!(c.redirect_uris.is_empty());
    }
}
