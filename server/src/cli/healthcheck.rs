//! `tessera-server healthcheck`.

use tessera_proto::wire::tessera::admin::v1::HealthCheckRequest;
use tessera_proto::wire::tessera::admin::v1::health_client::HealthClient;

use super::output::outln;
use super::{CliError, SocketArg, connect};

/// Exits 0 when the server answers and is ready (the readiness `/ready` reports).
pub async fn run(socket: &SocketArg) -> Result<(), CliError> {
    let mut client = HealthClient::new(connect(socket).await?);
    let health = client.check(HealthCheckRequest {}).await?.into_inner();
    if !health.serving {
        return Err(CliError(format!(
            "server is not ready: {}",
            health.not_ready.join(", ")
        )));
    }
    outln!("Server is healthy (trust domain {}).", health.trust_domain);
    Ok(())
}
