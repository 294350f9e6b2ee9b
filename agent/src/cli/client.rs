//! A Workload API client over the Unix socket, adding the security header to every call.

use std::path::Path;

use hyper_util::rt::TokioIo;
use tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient;
use tokio::net::UnixStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// A CLI failure: printed to stderr, non-zero exit.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<tonic::Status> for CliError {
    fn from(s: tonic::Status) -> Self {
        Self(format!(
            "the agent refused: {} ({:?})",
            s.message(),
            s.code()
        ))
    }
}

/// A connected Workload API client.
#[derive(Debug, Clone)]
pub struct WorkloadClient {
    inner: SpiffeWorkloadApiClient<Channel>,
}

impl WorkloadClient {
    /// Connects to the socket at `path`.
    pub async fn connect(path: &Path) -> Result<Self, CliError> {
        let owned = path.to_path_buf();
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_| {
                let path = owned.clone();
                async move { UnixStream::connect(path).await.map(TokioIo::new) }
            }))
            .await
            .map_err(|e| {
                CliError(format!(
                    "cannot reach the Workload API at {} ({e}); is `tessera-agent run` up, and is --socket right?",
                    path.display()
                ))
            })?;
        Ok(Self {
            inner: SpiffeWorkloadApiClient::new(channel),
        })
    }

    /// The generated client (use [`request`] to build requests with the header).
    pub fn api(&mut self) -> &mut SpiffeWorkloadApiClient<Channel> {
        &mut self.inner
    }
}

/// A request carrying `workload.spiffe.io: true`.
pub fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("workload.spiffe.io", MetadataValue::from_static("true"));
    request
}
