//! Health probes shared by server and agent (they never depend on each other): the
//! lifecycle phase, the readiness report and its JSON body (the `/ready` contract), and the
//! router serving `/live` and `/ready` (bound by [`crate::ops::serve_during`]).
//!
//! One source of truth: a process publishes its [`Phase`] through a [`Lifecycle`]; every
//! reader of readiness (the HTTP endpoint, the server's admin `Health.Check`) asks the same
//! [`Readiness`] handle, which asks the process's [`Probe`] while serving.

mod config;
mod endpoint;
mod lifecycle;
mod report;

pub use config::HealthSection;
pub use endpoint::router;
pub use lifecycle::{Lifecycle, Phase, Probe, ProbeFuture, Readiness};
pub use report::{NOT_READY_SHUTTING_DOWN, NOT_READY_STARTING, Report};
