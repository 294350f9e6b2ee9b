//! tessera-agent: node attestation, the agent's link to the server (sync, SVID rotation),
//! and the SPIFFE Workload API.
//!
//! - [`config`] — `agent.toml`.
//! - [`store`] — the agent SVID and bundle persisted in `data_dir`.
//! - [`x509`]: keys, CSRs, certificate facts, chain verification.
//! - [`tls`] — TLS to the server, authorized by SPIFFE ID.
//! - [`client`] — the agent API client.
//! - [`attestor`] — node attestors (join token, Kubernetes PSAT).
//! - [`manager`] — the agent identity lifecycle and the sync/rotation loop.
//! - [`workload_api`] — the SPIFFE Workload API on the public Unix socket (and its HTTP/2
//!   `:authority` fix for grpcio clients, `h2fix`), with Envoy SDS v3 on the same socket.
//! - [`health`] — readiness for `/ready` (the endpoint is shared, in `tessera_proto::health`).
//! - [`run`] — the process: manager, Workload API and signals as one task set.

pub mod attestor;
pub mod cli;
pub mod client;
pub mod config;
pub mod health;
pub mod manager;
pub mod metrics;
pub mod run;
pub mod store;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod workload_api;
pub mod x509;
