//! `tessera-server run`: open the datastore and CA, then run every part as one task set.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::{Clock, SystemClock};
use tessera_proto::health::Lifecycle;
use tessera_proto::ops::{OpsEndpoints, serve_during};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

mod oauth;

use oauth::{OAuthPart, oauth_server};

use crate::api::admin::{self, AccessLayer, AdminApi};
use crate::api::agent::{self, AgentService, Push};
use crate::attestation::{K8sPsat, NodeAttestors};
use crate::ca::{CaConfig, CaManager, Rotator, UpstreamAuthority};
use crate::changes::ChangeHub;
use crate::config::ServerConfig;
use crate::datastore::{Datastore, Instrumented, PgChangeListener, PgStore, SledStore};
use crate::health::ServerProbe;
use crate::k8s_registration::Controller as K8sController;
use crate::metrics::{CaExpiry, ServerMetrics};
use crate::oauth::grants::Grants;
use crate::oauth::realms::{TENANT_SYNC, TenantKeys};
use crate::prune::{EveryTenant, ExpiredRecords, Pruner};
use crate::registration::Policy;
use crate::tls::{SvidTlsProfile, TlsPublisher};

/// How long running parts get to stop after shutdown is signalled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The rotator's longest sleep (SPIRE checks every 10 s).
const ROTATION_CHECK: Duration = Duration::from_secs(10);
/// How often expired join tokens are deleted.
const JOIN_TOKEN_PRUNE: Duration = Duration::from_secs(600);

/// How often ended refresh-token grants are deleted.
const GRANT_PRUNE: Duration = Duration::from_secs(3600);
/// How often expired sessions, codes, device codes and `jti`s are deleted.
const EXPIRING_PRUNE: Duration = Duration::from_secs(60);

/// Why the server stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Start-up failed.
    #[error("{0}")]
    Startup(String),
    /// A running part failed.
    #[error("{part}: {message}")]
    Part {
        /// Which part.
        part: &'static str,
        /// Its error.
        message: String,
    },
}

/// The node attestors the agent API serves: `join_token` always, `k8s_psat` with a
/// Kubernetes client per configured cluster (its `kubeconfig`, else in-cluster config).
pub async fn node_attestors<S: Datastore + Clone>(
    config: &ServerConfig,
    store: S,
) -> Result<NodeAttestors<S>, RunError> {
    let k8s_psat = match &config.node_attestors.k8s_psat {
        Some(section) => Some(
            K8sPsat::from_config(config.trust_domain.clone(), section)
                .await
                .map_err(|e| startup("node_attestors.k8s_psat")(&e))?,
        ),
        None => None,
    };
    Ok(NodeAttestors::new(
        config.trust_domain.clone(),
        store,
        k8s_psat,
    ))
}

fn startup(what: &str) -> impl Fn(&dyn std::fmt::Display) -> RunError + '_ {
    move |e| RunError::Startup(format!("{what}: {e}"))
}

/// Runs the server until SIGINT/SIGTERM or the first failure, on the configured datastore
/// (sled by default; PostgreSQL, migrated first, with `[datastore] kind = "postgres"`).
///
/// With `[health] bind_address`, `/live` and `/ready` are served from before the datastore
/// opens (`/ready`: 503 `starting`) until every other part has drained (503
/// `shutting_down` from the signal on). With `[metrics] bind_address`, `/metrics` is
/// served over the same span.
pub async fn run(config: ServerConfig) -> Result<(), RunError> {
    let lifecycle = Lifecycle::new();
    let (metrics, mut registry) = ServerMetrics::registered(config.metrics.client_id_labels);
    let expiry = CaExpiry::default();
    registry
        .sub_registry_with_prefix(crate::metrics::PREFIX)
        .register_collector(Box::new(expiry.clone()));
    let endpoints = OpsEndpoints {
        health: config.health.bind_address,
        metrics: config
            .metrics
            .bind_address
            .map(|address| (address, Arc::new(registry))),
    };
    let parts = open_and_run(config, &lifecycle, metrics, expiry);
    serve_during(endpoints, &lifecycle, SHUTDOWN_GRACE, parts)
        .await
        .map_err(|e| RunError::Startup(e.to_string()))?
}

/// Opens the configured datastore and runs every part on it.
async fn open_and_run(
    config: ServerConfig,
    lifecycle: &Lifecycle,
    metrics: ServerMetrics,
    expiry: CaExpiry,
) -> Result<(), RunError> {
    tessera_proto::private_dir::prepare(&config.data_dir).map_err(|e| startup("data_dir")(&e))?;
    let server_id = crate::server_id::resolve(config.server_id.as_deref(), &config.data_dir)
        .map_err(|e| startup("server_id")(&e))?;
    match config.datastore.postgres() {
        None => {
            let store = SledStore::open_with_cache(
                &config.data_dir.join("datastore"),
                config.datastore.sled_cache_bytes(),
            )
            .map_err(|e| startup("datastore")(&e))?;
            tessera_proto::private_dir::tighten_tree(&config.data_dir)
                .map_err(|e| startup("data_dir")(&e))?;
            let changes = Changes {
                hub: store.changes().clone(),
                listener: None,
            };
            let store = Instrumented::new(store, metrics.datastore.clone());
            run_on(
                config, server_id, store, changes, lifecycle, &metrics, &expiry,
            )
            .await
        }
        Some(settings) => {
            tessera_proto::private_dir::tighten_tree(&config.data_dir)
                .map_err(|e| startup("data_dir")(&e))?;
            let store = PgStore::open(&settings)
                .await
                .map_err(|e| startup("datastore")(&e))?;
            tracing::info!(%server_id, "PostgreSQL datastore ready (schema up to date)");
            let instrumented = Instrumented::new(store.clone(), metrics.datastore.clone());
            let hub = ChangeHub::default();
            let changes = Changes {
                listener: Some(store.change_listener(hub.clone())),
                hub,
            };
            let result = run_on(
                config,
                server_id,
                instrumented,
                changes,
                lifecycle,
                &metrics,
                &expiry,
            )
            .await;
            store.close().await;
            result
        }
    }
}

/// Where the datastore's entry and bundle writes are announced: the sled store announces
/// its own; on PostgreSQL a listener announces every replica's (see [`crate::changes`]).
struct Changes {
    hub: ChangeHub,
    listener: Option<PgChangeListener>,
}

/// Runs every part on `store`.
async fn run_on<S: Datastore + Clone + std::fmt::Debug>(
    config: ServerConfig,
    server_id: String,
    store: S,
    changes: Changes,
    lifecycle: &Lifecycle,
    metrics: &ServerMetrics,
    expiry: &CaExpiry,
) -> Result<(), RunError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let upstream = match &config.ca.upstream {
        Some(u) => Some(
            UpstreamAuthority::load(&u.cert_file, &u.key_file, u.bundle_file.as_deref())
                .map_err(|e| startup("ca.upstream")(&e))?,
        ),
        None => None,
    };
    let ca_config = CaConfig {
        trust_domain: config.trust_domain.clone(),
        server_id: server_id.clone(),
        key_type: config.ca.key_type,
        jwt_key_type: config.ca.jwt_key_type,
        oauth_key_type: config.ca.jwt_key_type,
        ca_ttl: config.ca.ca_ttl,
        x509_svid_ttl: config.ca.x509_svid_ttl,
        jwt_svid_ttl: config.ca.jwt_svid_ttl,
        refresh_hint: config.ca.bundle_refresh_hint,
    };
    let ca = CaManager::open(
        ca_config,
        store.clone(),
        clock.clone(),
        &config.seal_key_file(),
        upstream,
    )
    .await
    .map_err(|e| startup("CA")(&e))?;
    expiry.attach(ca.subscribe(), clock.clone());
    // Ready for the agent API (node attestation).
    let attestors = Arc::new(node_attestors(&config, store.clone()).await?);
    tracing::info!(node_attestors = ?attestors.enabled(), "node attestation ready");
    let accounts = crate::users::Accounts::new(
        store.clone(),
        ca.sealer(),
        config.users.argon2(),
        Default::default(),
        clock.clone(),
    );
    // API keys (issue 17): checked at the token endpoint and introspection of every
    // tenant, managed through the admin API; their uses are flushed periodically.
    let api_key_usage = crate::api_keys::UsageLog::default();
    let api_keys = crate::api_keys::ApiKeyAuthenticator::new(store.clone(), api_key_usage.clone());
    let api_key_manager =
        crate::api_keys::ApiKeyManager::new(store.clone(), config.api_keys.clone());
    // Keys with an admin scope are bearer credentials on both admin transports.
    let admin_keys: Arc<dyn admin::BearerCredentials> = Arc::new(crate::api_keys::AdminKeys::new(
        api_keys.clone(),
        clock.clone(),
    ));
    let admin = AdminApi::new(
        config.admin_socket(),
        ca.clone(),
        store.clone(),
        accounts.clone(),
        lifecycle.readiness(),
    )
    .with_bindings(config.socket_bindings())
    .with_bearer(admin_keys.clone())
    .with_api_keys(api_key_manager.clone())
    .bind()
    .await
    .map_err(|e| startup("admin API")(&e))?;
    let (tls, tls_config) =
        TlsPublisher::new(ca.clone(), clock.clone(), SvidTlsProfile::agent_api())
            .map_err(|e| startup("agent API TLS")(&e))?;
    let agent_listener = TcpListener::bind(config.bind_address)
        .await
        .map_err(|e| startup(&format!("bind_address {}", config.bind_address))(&e))?;
    let admin_mtls = (
        admin::routes(
            ca.clone(),
            store.clone(),
            accounts.clone(),
            lifecycle.readiness(),
        )
        .add_service(admin::api_keys_server(
            api_key_manager.clone(),
            store.clone(),
            clock.clone(),
        )),
        AccessLayer::mtls(store.clone(), clock.clone()).with_bearer(admin_keys),
    );
    let shutdown = CancellationToken::new();
    let mut agent_api = AgentService::new(
        ca.clone(),
        store.clone(),
        attestors.clone(),
        clock.clone(),
        config.agent_ttl,
    )
    .with_attest_rate(config.agent_api.attest_per_second)
    .with_metrics(metrics.svids.clone(), metrics.node_attestation.clone());
    if config.agent_api.push {
        agent_api = agent_api.with_push(Push {
            hub: changes.hub.clone(),
            shutdown: shutdown.child_token(),
        });
    }
    let keys = oauth::ApiKeyParts {
        check: Arc::new(api_keys.clone()),
        manager: api_key_manager.clone(),
    };
    let oauth = oauth_server(&config, &ca, &store, &clock, accounts, metrics, keys).await?;
    let probe = ServerProbe::new(store.clone(), ca.subscribe(), clock.clone());
    let federation = crate::federation::Federation::start(
        &config.federation,
        ca.clone(),
        store.clone(),
        clock.clone(),
    )
    .await
    .map_err(|e| startup("federation")(&e))?;

    let mut tasks: JoinSet<Result<(), RunError>> = JoinSet::new();
    let token = shutdown.clone();
    let rotator_clock = clock.clone();
    let rotator_ca = ca.clone();
    let rotator_wake = changes.hub.subscribe();
    tasks.spawn(async move {
        Rotator::new(rotator_ca, rotator_clock, ROTATION_CHECK)
            .with_wake(rotator_wake)
            .run(token)
            .await
            .map_err(|e| RunError::Part {
                part: "CA rotator",
                message: e.to_string(),
            })
    });
    if let Some(listener) = changes.listener {
        let token = shutdown.clone();
        tasks.spawn(async move {
            listener.run(token).await;
            Ok(())
        });
    }
    let token = shutdown.clone();
    let tenant_keys = TenantKeys::new(ca.clone(), store.clone(), TENANT_SYNC);
    tasks.spawn(async move {
        tenant_keys.run(token).await;
        Ok(())
    });
    let token = shutdown.clone();
    let expired = Pruner::new(
        EveryTenant::new(store.clone(), ExpiredRecords),
        clock.clone(),
        EXPIRING_PRUNE,
    );
    tasks.spawn(async move {
        expired.run(token).await;
        Ok(())
    });
    let token = shutdown.clone();
    let pruner = Pruner::new(
        attestors.join_tokens().clone(),
        clock.clone(),
        JOIN_TOKEN_PRUNE,
    );
    tasks.spawn(async move {
        pruner.run(token).await;
        Ok(())
    });
    let token = shutdown.clone();
    let api_key_flusher = crate::api_keys::UsageFlusher::new(
        api_key_usage,
        store.clone(),
        config.api_keys.last_used_flush_interval,
    );
    tasks.spawn(async move {
        api_key_flusher.run(token).await;
        Ok(())
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        admin.run(token).await.map_err(|e| RunError::Part {
            part: "admin API",
            message: e.to_string(),
        })
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        tls.run(token).await.map_err(|e| RunError::Part {
            part: "agent API TLS",
            message: e.to_string(),
        })
    });
    let token = shutdown.clone();
    let limits = config.agent_api;
    tasks.spawn(async move {
        agent::serve(
            agent_listener,
            tls_config,
            agent_api,
            admin_mtls,
            limits,
            token,
        )
        .await
        .map_err(|e| RunError::Part {
            part: "agent API",
            message: e.to_string(),
        })
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        federation.run(token).await.map_err(|e| RunError::Part {
            part: "federation",
            message: e.to_string(),
        })
    });
    for controller in k8s_controllers(&config, &server_id, &store, &clock).await? {
        let token = shutdown.clone();
        tasks.spawn(async move {
            controller.run(token).await;
            Ok(())
        });
    }
    if let Some(oauth) = oauth {
        let token = shutdown.clone();
        let lifetimes = oauth.lifetimes;
        let grants = EveryTenant::new(store.clone(), move |s| Grants::new(s, lifetimes));
        let pruner = Pruner::new(grants, clock.clone(), GRANT_PRUNE);
        tasks.spawn(async move {
            pruner.run(token).await;
            Ok(())
        });
        if let Some(publisher) = oauth.publisher {
            let token = shutdown.clone();
            tasks.spawn(async move {
                publisher.run(token).await.map_err(|e| RunError::Part {
                    part: "OAuth server TLS",
                    message: e.to_string(),
                })
            });
        }
        let token = shutdown.clone();
        let OAuthPart {
            server,
            listener,
            tls,
            ..
        } = oauth;
        tasks.spawn(async move {
            let served = match tls {
                Some(tls) => server.run_tls(listener, tls, token).await,
                None => server.run(listener, token).await,
            };
            served.map_err(|e| RunError::Part {
                part: "OAuth server",
                message: e.to_string(),
            })
        });
    }
    tracing::info!(
        trust_domain = %config.trust_domain,
        %server_id,
        agent_api = %config.bind_address,
        admin_socket = %config.admin_socket().display(),
        "tessera-server is running"
    );
    lifecycle.serving(Arc::new(probe));

    let first = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            Ok(())
        }
        Some(done) = tasks.join_next() => flatten(done),
    };
    // Not ready before anything drains: load balancers stop sending first.
    lifecycle.stopping();
    shutdown.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        let mut result = first;
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = flatten(done) {
                tracing::error!(error = %e, "part failed during shutdown");
                result = result.and(Err(e));
            }
        }
        result
    })
    .await;
    match drained {
        Ok(result) => result,
        Err(_) => Err(RunError::Part {
            part: "shutdown",
            message: format!("parts still running after {SHUTDOWN_GRACE:?}"),
        }),
    }
}

/// One Kubernetes registration controller per `[[k8s_registration]]` table.
async fn k8s_controllers<S: Datastore + Clone>(
    config: &ServerConfig,
    server_id: &str,
    store: &S,
    clock: &Arc<dyn Clock>,
) -> Result<Vec<K8sController<S>>, RunError> {
    let mut controllers = Vec::new();
    for section in &config.k8s_registration {
        let policy = Policy::new(config.trust_domain.clone(), config.ca.ca_ttl);
        let controller = K8sController::connect(
            section,
            config.trust_domain.clone(),
            policy,
            store.clone(),
            server_id.to_string(),
            clock.clone(),
        )
        .await
        .map_err(|e| startup("k8s_registration")(&e))?;
        tracing::info!(cluster = %section.cluster_name, "k8s registration controller ready");
        controllers.push(controller);
    }
    Ok(controllers)
}

fn flatten(done: Result<Result<(), RunError>, tokio::task::JoinError>) -> Result<(), RunError> {
    done.map_err(|e| RunError::Part {
        part: "task",
        message: e.to_string(),
    })?
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
