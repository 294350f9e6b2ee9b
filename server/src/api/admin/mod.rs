//! The admin API on the server's Unix socket. The socket is created with its final mode (0600,
//! or 0666 when `admin_bindings` let other users in) and every call is checked by the
//! [`AccessLayer`]: the RPC's permission against the caller's role (README "Admin roles").

pub mod access;
mod agents;
mod api_keys;
mod authorities;
mod bundles;
mod clients;
mod entries;
mod federated_bundles;
mod federation;
mod health;
mod join_tokens;
mod tenant_scope;
mod tenants;
mod users;

pub use access::{AccessLayer, BearerCredentials, CallSource, GrantFuture, SocketBindings};

use std::path::PathBuf;
use std::sync::Arc;

use tessera_proto::health::Readiness;
use tessera_proto::wire::tessera::admin::v1::access_server::AccessServer;
use tessera_proto::wire::tessera::admin::v1::agents_server::AgentsServer;
use tessera_proto::wire::tessera::admin::v1::api_keys_server::ApiKeysServer;
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

pub use api_keys::{ApiKeysService, MAX_API_KEY_PAGE, api_key_status};
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
    bindings: SocketBindings,
    bearer: Option<Arc<dyn BearerCredentials>>,
    /// The API keys service ([`AdminApi::with_api_keys`]).
    api_keys: Option<crate::api_keys::ApiKeyManager<S>>,
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
            bindings: SocketBindings::new(Vec::new()),
            bearer: None,
            api_keys: None,
        }
    }

    /// Accepts `authorization: Bearer …` credentials on the socket through `bearer` (see
    /// [`AccessLayer::with_bearer`]).
    pub fn with_bearer(mut self, bearer: Arc<dyn BearerCredentials>) -> Self {
        self.bearer = Some(bearer);
        self
    }

    /// Binds socket callers to roles (besides the server's uid and root as `admin`); when
    /// anyone else is bound the socket is created 0666 and the access gate decides.
    pub fn with_bindings(mut self, bindings: SocketBindings) -> Self {
        self.bindings = bindings;
        self
    }

    /// Serves the `ApiKeys` service over `keys` too.
    pub fn with_api_keys(mut self, keys: crate::api_keys::ApiKeyManager<S>) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// Binds the socket now, so callers know it is ready when this returns.
    pub async fn bind(self) -> Result<BoundAdminApi<S>, AdminApiError> {
        let mode = if self.bindings.opens_the_socket() {
            0o666
        } else {
            0o600
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
            bindings,
            bearer,
            api_keys,
        } = self.api;
        let mut access = AccessLayer::socket(bindings);
        if let Some(bearer) = bearer {
            access = access.with_bearer(bearer);
        }
        let clock = ca.clock().clone();
        let mut all = routes(ca, store.clone(), accounts, readiness);
        if let Some(keys) = api_keys {
            all = all.add_service(api_keys_server(keys, store, clock));
        }
        let result = tonic::transport::Server::builder()
            .layer(access)
            .add_routes(all)
            .serve_with_incoming_shutdown(
                UnixListenerStream::new(self.listener),
                shutdown.cancelled_owned(),
            )
            .await;
        let _ = std::fs::remove_file(&socket);
        result.map_err(AdminApiError::from)
    }
}

/// Every admin service, for the Unix socket and the mTLS listener (each behind an
/// [`AccessLayer`]).
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
        .add_service(AccessServer::new(access::AccessService))
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

/// The `ApiKeys` service over `keys` (tenants looked up in `store`), to add to [`routes`].
pub fn api_keys_server<S>(
    keys: crate::api_keys::ApiKeyManager<S>,
    store: S,
    clock: Arc<dyn tessera_proto::clock::Clock>,
) -> ApiKeysServer<ApiKeysService<S>>
where
    S: Datastore + Clone,
{
    ApiKeysServer::new(ApiKeysService::new(keys, store, clock))
}
