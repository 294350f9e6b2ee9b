//! `api validate jwt`.

use clap::Subcommand;
use tessera_proto::wire::workload::ValidateJwtsvidRequest;

use super::client::request;
use super::{CliError, SocketArg, WorkloadClient, emit};

/// What to validate.
#[derive(Debug, Subcommand)]
pub enum ValidateCommand {
    /// A JWT-SVID, for an audience.
    Jwt {
        /// The audience the token must carry.
        #[arg(long)]
        audience: String,
        /// The token (JWS compact serialization).
        #[arg(long)]
        token: String,
        #[command(flatten)]
        socket: SocketArg,
    },
}

fn value_json(v: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match &v.kind {
        Some(Kind::NullValue(_)) | None => serde_json::Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::json!(n),
        Some(Kind::StringValue(s)) => serde_json::json!(s),
        Some(Kind::BoolValue(b)) => serde_json::json!(b),
        Some(Kind::StructValue(s)) => struct_json(s),
        Some(Kind::ListValue(l)) => {
            serde_json::Value::Array(l.values.iter().map(value_json).collect())
        }
    }
}

fn struct_json(s: &prost_types::Struct) -> serde_json::Value {
    serde_json::Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect(),
    )
}

/// Runs a `validate` command.
pub async fn run(command: ValidateCommand) -> Result<(), CliError> {
    let ValidateCommand::Jwt {
        audience,
        token,
        socket,
    } = command;
    let mut client = WorkloadClient::connect(&socket.resolve()?).await?;
    let reply = client
        .api()
        .validate_jwtsvid(request(ValidateJwtsvidRequest {
            audience,
            svid: token,
        }))
        .await?
        .into_inner();
    let claims = reply.claims.as_ref().map(struct_json).unwrap_or_default();
    emit(&format!(
        "SVID is valid.\nSPIFFE ID : {}\nClaims    : {claims}\n",
        reply.spiffe_id
    ))
}
