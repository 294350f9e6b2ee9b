//! `tessera-agent run`: the manager (and, next, the Workload API) as one task set, stopped
//! by SIGINT/SIGTERM or the first failure.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::attestor::node;
use crate::config::AgentConfig;
use crate::manager::{Manager, ManagerConfig, ManagerError};
use crate::store::{self, Store, StoreError};

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
}

/// Builds the manager from the config and runs it until a signal or a fatal error.
pub async fn run(config: AgentConfig) -> Result<(), RunError> {
    let manager = build_manager(&config)?;
    let shutdown = CancellationToken::new();
    let mut task = tokio::spawn(manager.run(shutdown.clone()));
    tracing::info!(
        trust_domain = %config.trust_domain,
        data_dir = %config.data_dir.display(),
        "tessera-agent is running"
    );
    let finished = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            None
        }
        done = &mut task => Some(done),
    };
    shutdown.cancel();
    let done = match finished {
        Some(done) => done,
        None => match tokio::time::timeout(SHUTDOWN_GRACE, task).await {
            Ok(done) => done,
            Err(_) => return Err(RunError::Startup("the manager did not stop in time".into())),
        },
    };
    match done {
        Ok(result) => result.map_err(RunError::from),
        Err(e) => Err(RunError::Startup(format!("manager task: {e}"))),
    }
}

fn build_manager(config: &AgentConfig) -> Result<Manager, RunError> {
    let store = Store::open(&config.data_dir).map_err(|e| RunError::Startup(e.to_string()))?;
    let bootstrap_bundle = match &config.trust_bundle_path {
        Some(path) => Some(
            store::load_pem_bundle(path, config.trust_domain.as_str()).map_err(|e| match e {
                StoreError::Io { .. } | StoreError::Corrupt { .. } => {
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
