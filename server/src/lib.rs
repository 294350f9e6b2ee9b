//! tessera-server: the trust domain's CA, registration, node attestation and OAuth/OIDC.

pub mod access;
pub mod api;
pub mod api_keys;
pub mod attestation;
pub mod audit;
pub mod ca;
pub mod changes;
pub mod cli;
pub mod config;
pub mod datastore;
pub mod federation;
#[cfg(fuzzing)]
pub mod fuzzing;
pub mod health;
pub mod k8s_registration;
pub mod metrics;
pub mod oauth;
pub mod prune;
pub mod registration;
pub mod run;
pub mod server_id;
pub mod telemetry;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod test_support;
pub mod tls;
pub mod users;

/// The `tessera-server` binary's global allocator, for benchmarks that host the server in
/// their own process to use the same one. Under sled's I/O threads and tokio's workers,
/// glibc malloc's arena locking and consolidation took ~15 % of the CPU of a refresh
/// (`cargo bench --bench refresh`: ≈ 8,500/s with glibc, ≈ 14,000/s with mimalloc).
pub use mimalloc::MiMalloc as Allocator;
