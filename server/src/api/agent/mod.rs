//! The agent API: tonic over TLS on `bind_address`. Attestation needs server-auth TLS
//! only; every other call is authenticated by the agent's X.509-SVID (mTLS).

mod authorized_cache;
mod caller;
mod csr;
mod issue;
mod limits;
mod listener;
mod push;
mod service;
mod sync;

pub use crate::tls::{TlsError, TlsPublisher};
pub use caller::svid_identity;
#[cfg(fuzzing)]
pub(crate) use csr::public_key as csr_public_key;
pub use limits::{AgentApiLimits, AttestRate};
pub use push::{Interest, Push};
pub use service::{AgentService, MAX_BATCH};

use std::sync::Arc;

use rustls::ServerConfig;
use tessera_proto::wire::tessera::agent::v1::agent_server::AgentServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use tonic::service::Routes;

use crate::api::admin::AccessLayer;
use crate::datastore::Datastore;

/// Largest request accepted from an agent.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Serves the agent API on `listener` until `shutdown`, and the admin API (`admin`) to
/// callers whose SVID's entry has an admin role (the layer checks each admin call).
pub async fn serve<S: Datastore + Clone>(
    listener: TcpListener,
    tls: watch::Receiver<Arc<ServerConfig>>,
    service: AgentService<S>,
    admin: (Routes, AccessLayer),
    limits: AgentApiLimits,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let incoming = listener::incoming(listener, tls, limits, shutdown.clone());
    let (admin_routes, gate) = admin;
    tonic::transport::Server::builder()
        .layer(gate)
        .add_routes(admin_routes)
        .add_service(AgentServer::new(service).max_decoding_message_size(MAX_REQUEST_BYTES))
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}
