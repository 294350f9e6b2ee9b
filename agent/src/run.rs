//! `tessera-agent run`: the manager and the Workload API as one task set, stopped by
//! SIGINT/SIGTERM or the first failure.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::SystemClock;
use tessera_proto::health::Lifecycle;
use tessera_proto::ops::{OpsEndpoints, serve_during};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::attestor::node;
use crate::attestor::workload::WorkloadAttestors;
use crate::config::AgentConfig;
use crate::health::AgentProbe;
use crate::manager::{Manager, ManagerConfig, ManagerError};
use crate::metrics::AgentMetrics;
use crate::store::{self, Store, StoreError};
use crate::workload_api::{ServeError, WorkloadApi, WorkloadEndpoint};

/// How long running parts get to stop after shutdown is signalled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the agent stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Start-up failed because of the configuration (exit 2).
    #[error("{0}")]
    Config(String),
    /// Start-up failed.
    #[error("{0}")]
    Startup(String),
    /// The manager stopped.
    #[error("{0}")]
    Manager(#[from] ManagerError),
    /// The Workload API could not bind its socket or stopped.
    #[error("{0}")]
    WorkloadApi(#[from] ServeError),
}

/// Builds the manager and the Workload API from the config and runs them as one task set
/// until a signal or the first failure (which stops the other part).
///
/// With `[health] bind_address`, `/live` and `/ready` are served from the start (`/ready`:
/// 503 until attested, synced and every entry's SVID held) until the other parts have
/// drained (503 `shutting_down` from the signal on).
/// With `[metrics] bind_address`, `/metrics` is served over the same span.
pub async fn run(config: AgentConfig) -> Result<(), RunError> {
    let lifecycle = Lifecycle::new();
    let (metrics, registry) = AgentMetrics::registered();
    let endpoints = OpsEndpoints {
        health: config.health.bind_address,
        metrics: config
            .metrics
            .bind_address
            .map(|address| (address, Arc::new(registry))),
    };
    let parts = run_parts(config, &lifecycle, metrics);
    serve_during(endpoints, &lifecycle, SHUTDOWN_GRACE, parts)
        .await
        .map_err(|e| RunError::Startup(e.to_string()))?
}

/// The manager and the Workload API as one task set.
async fn run_parts(
    config: AgentConfig,
    lifecycle: &Lifecycle,
    metrics: AgentMetrics,
) -> Result<(), RunError> {
    let manager = build_manager(&config)?.with_metrics(metrics.manager);
    let probe = AgentProbe::new(manager.subscribe(), Arc::new(SystemClock));
    let attestors = WorkloadAttestors::from_config(&config)
        .map_err(|e| RunError::Config(format!("`workload_attestor`: {e}")))?
        .with_metrics(metrics.attestation);
    let api = WorkloadApi::new(
        manager.subscribe(),
        attestors,
        manager.api(),
        Arc::new(SystemClock),
    )
    .with_metrics(metrics.workload_api);
    let endpoint = WorkloadEndpoint::new(config.socket_path(), api)
        .with_limits(config.workload_api)
        .with_sds(config.sds.clone());
    let shutdown = CancellationToken::new();
    let mut tasks: JoinSet<Result<(), RunError>> = JoinSet::new();
    let token = shutdown.clone();
    tasks.spawn(async move { manager.run(token).await.map_err(RunError::from) });
    let token = shutdown.clone();
    tasks.spawn(async move { endpoint.run(token).await.map_err(RunError::from) });
    tracing::info!(
        trust_domain = %config.trust_domain,
        data_dir = %config.data_dir.display(),
        "tessera-agent is running"
    );
    lifecycle.serving(Arc::new(probe));
    let first = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            Ok(())
        }
        Some(done) = tasks.join_next() => flatten(done),
    };
    // Not ready before anything drains.
    lifecycle.stopping();
    shutdown.cancel();
    let rest = tokio::time::timeout(SHUTDOWN_GRACE, async {
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = flatten(done) {
                tracing::warn!(error = %e, "a part failed while stopping");
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    })
    .await;
    first?;
    match rest {
        Ok(result) => result,
        Err(_) => Err(RunError::Startup("the agent did not stop in time".into())),
    }
}

/// A finished task's result, a panic or cancellation counted as a failure.
fn flatten(done: Result<Result<(), RunError>, JoinError>) -> Result<(), RunError> {
    done.unwrap_or_else(|e| Err(RunError::Startup(format!("agent task: {e}"))))
}

fn build_manager(config: &AgentConfig) -> Result<Manager, RunError> {
    let store = Store::open(&config.data_dir).map_err(|e| RunError::Startup(e.to_string()))?;
    let bootstrap_bundle = match &config.trust_bundle_path {
        Some(path) => Some(
            store::load_pem_bundle(path, config.trust_domain.as_str()).map_err(|e| match e {
                StoreError::Io { .. } | StoreError::Corrupt { .. } | StoreError::Dir(_) => {
                    RunError::Config(format!("`trust_bundle_path`: {e}"))
                }
            })?,
        ),
        None => None,
    };
    let attestor = node::from_config(config)
        .ok_or_else(|| RunError::Config("`join_token`: no node attestor configured".into()))?;
    let manager_config = ManagerConfig {
        trust_domain: config.trust_domain.clone(),
        server_addresses: config.server_address.clone(),
        sync_interval: config.sync_interval,
        bootstrap_bundle,
        insecure_bootstrap: config.insecure_bootstrap,
        push: config.push,
        x509_svid_batch_size: config.x509_svid_batch_size,
    };
    Manager::new(manager_config, attestor, store, Arc::new(SystemClock)).map_err(|e| match e {
        ManagerError::NoTrustBundle => RunError::Config(format!("`trust_bundle_path`: {e}")),
        other => RunError::Startup(other.to_string()),
    })
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                name = ctrl_c => name,
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await
    }
}
