//! The Workload API over real Unix sockets, fed by a hand-built `watch` of `AgentState`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod jwt;
mod limits;
mod pinning;
mod socket;
mod streams;
pub(super) mod support;
mod validate;
