//! Test support: locating the built binaries and running real server processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod agent;
pub mod process;

pub use agent::{AgentProcess, free_port};
pub use process::{ServerProcess, bin, run_cli};
