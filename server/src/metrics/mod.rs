//! Prometheus metrics of tessera-server (`tessera_server_*`): built once at start-up on one
//! registry, handed (cloned: every metric is an `Arc` inside) to the parts that record.
//!
//! Every part also works with the `Default` (unregistered) metrics, so tests and tools that
//! build parts without a registry record into nothing anyone reads.

mod ca_expiry;
mod datastore;
mod node_attestation;
mod oauth;
mod server_metrics;
mod svid;

pub use ca_expiry::CaExpiry;
pub use datastore::{DatastoreMetrics, ErrorKind};
pub use node_attestation::{AttestationResult, NodeAttestationMetrics, NodeAttestorLabel};
pub use oauth::{
    AuthMethod, GrantType, LoginFactor, LoginMetrics, LoginResult, TokenMetrics, TokenRequestSeen,
    TokenResult,
};
pub use server_metrics::{PREFIX, ServerMetrics};
pub use svid::{SvidKind, SvidMetrics};
