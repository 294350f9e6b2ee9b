//! The SPIFFE Workload API on the agent's public Unix socket.
//!
//! - [`WorkloadEndpoint`] — binds the socket and serves (`run(self, shutdown)`).
//! - [`WorkloadApi`] — the service over the manager's `watch` of [`crate::manager::AgentState`],
//!   generic over [`CallerSelectors`] (workload attestation) and [`JwtMinter`].
//! - [`WorkloadConn`] / [`WorkloadConnInfo`] — a connection and its caller (peer
//!   credentials), visible to handlers through request extensions.
//! - [`validate_jwt_svid`] — the pure JWT-SVID check behind `ValidateJWTSVID`.

mod api;
mod claims;
mod conn;
mod endpoint;
mod error;
mod handlers;
mod identity;
mod jwt_cache;
mod ports;
mod responses;
mod socket;
mod stream;
mod validate;

pub use api::{SECURITY_HEADER, StateRx, WorkloadApi};
pub use claims::{to_proto_struct, to_proto_value};
pub use conn::{WorkloadConn, WorkloadConnInfo};
pub use endpoint::{WorkloadEndpoint, serve};
pub use error::{RpcError, ServeError};
pub use identity::{CallerIdentity, caller_identities};
pub use jwt_cache::{JwtCache, JwtKey, is_fresh};
pub use ports::{CallerSelectors, JwtMinter};
pub use responses::{
    jwt_bundles_response, jwt_document, x509_bundles_response, x509_svid_response,
};
pub use socket::{BoundSocket, SocketFile, accept_conn, incoming, peer_caller};
pub use validate::{TokenError, ValidatedJwt, validate_jwt_svid};

#[cfg(test)]
mod tests;
