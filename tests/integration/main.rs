//! Tessera's one integration-test binary: real processes, real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent;
mod api_keys;
mod federation;
mod ha;
mod health;
mod k8s_registration;
mod k8s_standin;
mod metrics;
mod oauth;
mod security_catalog;
mod server;
mod tenants;
mod workload;
