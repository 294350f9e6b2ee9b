//! `tessera-agent healthcheck`: the Workload API answers (any answer but "unavailable").

use tessera_proto::wire::workload::X509BundlesRequest;
use tonic::Code;

use super::client::request;
use super::{CliError, SocketArg, WorkloadClient};

/// Healthy when the agent answers the Workload API; a caller without an identity
/// (PermissionDenied) still proves the agent is up.
pub async fn run(socket: &SocketArg) -> Result<(), CliError> {
    let mut client = WorkloadClient::connect(&socket.resolve()?).await?;
    match client
        .api()
        .fetch_x509_bundles(request(X509BundlesRequest {}))
        .await
    {
        Ok(_) => {}
        Err(s) if s.code() == Code::PermissionDenied => {}
        Err(s) => {
            return Err(CliError(format!(
                "agent is unhealthy: {} ({:?})",
                s.message(),
                s.code()
            )));
        }
    }
    println!("Agent is healthy.");
    Ok(())
}
