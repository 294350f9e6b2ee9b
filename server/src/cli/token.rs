//! `tessera-server token generate`: a one-time join token for an agent.

use clap::Subcommand;
use tessera_proto::duration::parse_duration;
use tessera_proto::wire::tessera::admin::v1::CreateJoinTokenRequest;
use tessera_proto::wire::tessera::admin::v1::join_tokens_client::JoinTokensClient;

use super::output::outln;
use super::output::{Output, OutputArg};
use super::{CliError, SocketArg, connect};

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a join token (shown once; only its hash is stored).
    Generate {
        /// The SPIFFE ID the attested agent gets (default:
        /// `spiffe://<td>/tessera/agent/join_token/<token>`).
        #[arg(long)]
        spiffe_id: Option<String>,
        /// Lifetime: seconds (`600`) or a duration (`10m`); default 10 minutes.
        #[arg(long)]
        ttl: Option<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

/// `--ttl` in whole seconds: a plain number of seconds or a duration such as `1h`.
fn ttl_seconds(ttl: &str) -> Result<i32, CliError> {
    let secs = match ttl.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => parse_duration(ttl)
            .map_err(|e| CliError(format!("--ttl {ttl:?}: {e}")))?
            .as_secs(),
    };
    if secs == 0 {
        return Err(CliError("--ttl must be at least 1s".into()));
    }
    i32::try_from(secs).map_err(|_| CliError(format!("--ttl {ttl:?} is too long")))
}

/// Runs a `token` command.
pub async fn run(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Generate {
            spiffe_id,
            ttl,
            output,
            socket,
        } => {
            let ttl = ttl.as_deref().map(ttl_seconds).transpose()?.unwrap_or(0);
            let mut client = JoinTokensClient::new(connect(&socket).await?);
            let reply = client
                .create_join_token(CreateJoinTokenRequest {
                    ttl,
                    agent_id: spiffe_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            match output.format {
                Output::Pretty => outln!("Token: {}", reply.token),
                Output::Json => outln!(
                    "{}",
                    serde_json::json!({"token": reply.token, "expires_at": reply.expires_at})
                ),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ttl_accepts_seconds_and_durations() {
        assert_eq!(ttl_seconds("600").unwrap(), 600);
        assert_eq!(ttl_seconds("1h").unwrap(), 3600);
        assert_eq!(ttl_seconds("1m30s").unwrap(), 90);
        assert!(ttl_seconds("0").is_err());
        assert!(ttl_seconds("soon").is_err());
        assert!(ttl_seconds("100000d").is_err());
    }
}
