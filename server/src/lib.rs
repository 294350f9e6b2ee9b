//! tessera-server: the trust domain's CA, registration, node attestation and OAuth/OIDC.

pub mod api;
pub mod attestation;
pub mod ca;
pub mod cli;
pub mod config;
pub mod datastore;
pub mod oauth;
pub mod registration;
pub mod run;
pub mod telemetry;
pub mod tls;
pub mod users;
