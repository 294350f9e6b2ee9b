//! The admin API on the server's Unix socket. The socket is created with its final mode (0600,
//! or 0666 when `admin_uids` lets other users in) and every call is checked against the
//! caller's peer credentials ([`AdminPeers`]: the server's uid, root, `admin_uids`).

mod agents;
mod authorities;
mod bundles;
mod clients;
mod entries;
mod federated_bundles;
mod federation;
mod health;
mod join_tokens;
mod mtls;
mod peer;
mod tenant_scope;
mod tenants;
mod users;

pub use mtls::{AdminGate, AdminGateLayer};
pub use peer::AdminPeers;

use std::path::PathBuf;
use std::sync::Arc;

use tessera_proto::health::Readiness;
use tessera_proto::wire::tessera::admin::v1::agents_server::AgentsServer;
use tessera_proto::wire::tessera::admin::v1::authorities_server::AuthoritiesServer;
use tessera_proto::wire::tessera::admin::v1::bundles_server::BundlesServer;
use tessera_proto::wire::tessera::admin::v1::clients_server::ClientsServer;
use tessera_proto::wire::tessera::admin::v1::entries_server::EntriesServer;
use tessera_proto::wire::tessera::admin::v1::federated_bundles_server::FederatedBundlesServer;
use tessera_proto::wire::tessera::admin::v1::federation_server::FederationServer;
use tessera_proto::wire::tessera::admin::v1::health_server::HealthServer;
use tessera_proto::wire::tessera::admin::v1::join_tokens_server::JoinTokensServer;
use tessera_proto::wire::tessera::admin::v1::tenants_server::TenantsServer;
use tessera_proto::wire::tessera::admin::v1::users_server::UsersServer;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::attestation::JoinTokens;
use crate::ca::CaManager;
use crate::datastore::Datastore;
use crate::registration::Policy;
use crate::users::Accounts;

pub use clients::{ClientsService, MAX_CLIENT_PAGE};
pub use entries::{EntriesService, MAX_BATCH, MAX_PAGE_SIZE};
pub use tenant_scope::TENANT_METADATA;
pub use tenants::{MAX_TENANT_NAME, TenantsService};
pub use users::{MAX_USER_PAGE, UsersService};

/// Errors of the admin API task.
#[derive(Debug, thiserror::Error)]
pub enum AdminApiError {
    /// The socket could not be bound.
    #[error("admin socket {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("admin API: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// The admin API server.
#[derive(Debug)]
pub struct AdminApi<S> {
    socket: PathBuf,
    ca: Arc<CaManager<S>>,
    store: S,
    accounts: Accounts<S>,
    readiness: Readiness,
    admin_uids: Vec<u32>,
}

impl<S: Datastore + Clone> AdminApi<S> {
    /// An admin API on `socket` over the CA, the datastore and the user accounts; its
    /// `Health.Check` answers from `readiness`.
    pub fn new(
        socket: PathBuf,
        ca: Arc<CaManager<S>>,
        store: S,
        accounts: Accounts<S>,
        readiness: Readiness,
    ) -> Self {
        Self {
            socket,
            ca,
            store,
            accounts,
            readiness,
            admin_uids: Vec::new(),
        }
    }

    /// Lets the users `admin_uids` use the admin socket too (besides the server's uid and
    /// root); the socket is then created 0666 and the peer-credential check is the gate.
    pub fn with_admin_uids(mut self, admin_uids: Vec<u32>) -> Self {
        self.admin_uids = admin_uids;
        self
    }

    /// Binds the socket now, so callers know it is ready when this returns.
    pub async fn bind(self) -> Result<BoundAdminApi<S>, AdminApiError> {
        let mode = if self.admin_uids.is_empty() {
            0o600
        } else {
            0o666
        };
        let listener = super::uds::bind(&self.socket, mode)
            .await
            .map_err(|source| AdminApiError::Bind {
                path: self.socket.clone(),
                source,
            })?;
        Ok(BoundAdminApi {
            api: self,
            listener,
        })
    }
}

/// An admin API with its socket bound.
#[derive(Debug)]
pub struct BoundAdminApi<S> {
    api: AdminApi<S>,
    listener: tokio::net::UnixListener,
}

impl<S: Datastore + Clone> BoundAdminApi<S> {
    /// Serves until `shutdown`, then removes the socket file.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), AdminApiError> {
        let AdminApi {
            socket,
            ca,
            store,
            accounts,
            readiness,
            admin_uids,
        } = self.api;
        let peers = AdminPeers::new(&admin_uids);
        let result = tonic::transport::Server::builder()
            .layer(tonic::service::InterceptorLayer::new(peers))
            .add_routes(routes(ca, store, accounts, readiness))
            .serve_with_incoming_shutdown(
                UnixListenerStream::new(self.listener),
                shutdown.cancelled_owned(),
            )
            .await;
        let _ = std::fs::remove_file(&socket);
        result.map_err(AdminApiError::from)
    }
}

/// Every admin service, for the Unix socket and (behind [`AdminGate`]) the mTLS listener.
pub fn routes<S>(
    ca: Arc<CaManager<S>>,
    store: S,
    accounts: Accounts<S>,
    readiness: Readiness,
) -> Routes
where
    S: Datastore + Clone,
{
    let trust_domain = ca.config().trust_domain.to_string();
    let join_tokens = join_tokens::JoinTokensService::new(
        JoinTokens::new(ca.config().trust_domain.clone(), store.clone()),
        store.clone(),
        ca.clock().clone(),
    );
    let policy = Policy::new(ca.config().trust_domain.clone(), ca.config().ca_ttl);
    let entries = EntriesService::new(store.clone(), policy, ca.clock().clone());
    let clients = ClientsService::new(store.clone(), ca.clock().clone());
    Routes::builder()
        .add_service(HealthServer::new(health::HealthService::new(
            trust_domain,
            readiness,
        )))
        .add_service(BundlesServer::new(bundles::BundlesService::new(ca.clone())))
        .add_service(FederatedBundlesServer::new(
            federated_bundles::FederatedBundlesService::new(
                store.clone(),
                ca.config().trust_domain.clone(),
            ),
        ))
        .add_service(FederationServer::new(federation::FederationService::new(
            store.clone(),
            ca.config().trust_domain.clone(),
        )))
        .add_service(AuthoritiesServer::new(
            authorities::AuthoritiesService::new(ca.clone()),
        ))
        .add_service(AgentsServer::new(agents::AgentsService::new(store.clone())))
        .add_service(JoinTokensServer::new(join_tokens))
        .add_service(EntriesServer::new(entries))
        .add_service(ClientsServer::new(clients))
        .add_service(UsersServer::new(UsersService::new(accounts)))
        .add_service(TenantsServer::new(TenantsService::new(
            store,
            ca.clone(),
            ca.clock().clone(),
        )))
        .clone()
        .routes()
}
