//! Test support: locating the built binaries, running real server processes, and a
//! Kubernetes API stand-in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod agent;
pub mod agent_api;
pub mod bench_report;
pub mod guard;
pub mod http;
pub mod k8s;
pub mod load;
pub mod openssl;
pub mod pg_cluster;
pub mod ports;
pub mod postgres;
pub mod process;

pub use agent::AgentProcess;
pub use agent_api::{AgentApi, fresh_key};
pub use pg_cluster::PrivateCluster;
pub use ports::free_port;
pub use postgres::TestDatabase;
pub use process::{ServerProcess, bin, run_cli, run_with_stdin};
