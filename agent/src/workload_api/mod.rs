//! The SPIFFE Workload API on the agent's public Unix socket.
//!
//! - [`WorkloadEndpoint`] — binds the socket and serves (`run(self, shutdown)`).
//! - [`WorkloadApi`] — the service over the manager's `watch` of [`crate::manager::AgentState`],
//!   generic over [`CallerSelectors`] (workload attestation) and [`JwtMinter`].
//! - [`WorkloadConn`] / [`WorkloadConnInfo`] — a connection and its caller (peer
//!   credentials), visible to handlers through request extensions.
//! - `ValidateJWTSVID` uses [`tessera_proto::jwt_svid::validate_jwt_svid`].
//!
//! Behaviour, every RPC: the `workload.spiffe.io: true` header first (`InvalidArgument`),
//! then the state (`Unavailable` before the first sync), then the caller from the socket's
//! peer credentials, attested through [`CallerSelectors`] (`Unavailable`, or
//! `PermissionDenied` when the process changed), then its identities (`PermissionDenied`
//! "no identity issued" when none). Identities are the cached entries with at least one
//! selector, all of them among the caller's (`type:value`), holding an unexpired SVID,
//! ordered oldest entry first (`created_at`, then entry ID): the first is the default.
//!
//! Streams send the full state at once, then a new message only when the caller's view
//! changes: the caller is attested once when the stream opens (its peer credentials are
//! fixed at connect time, as in SPIRE), then each stream task awaits `changed()` on its own
//! clone of the manager's receiver and recomputes; losing every identity ends the stream
//! with `PermissionDenied` (fail closed; SPIFFE clients reconnect). Each stream has
//! its own task and a 2-message channel, so a client that stops reading stalls only itself.
//! On shutdown every stream ends so connections drain. JWT-SVIDs are cached per entry and
//! audience set until half their lifetime; `ValidateJWTSVID` uses the own and every
//! federated bundle, picked by the trust domain of the token's `sub`.
//!
//! The same socket serves Envoy SDS v3 ([`SdsApi`], see the `sds` module) to the same
//! callers, attested the same way.
//!
//! Connection layers (e.g. an HTTP/2 fix-up for Python clients) go in [`accept_conn`]: wrap
//! the stream before [`WorkloadConn::new`].

mod api;
mod claims;
mod conn;
mod endpoint;
mod error;
pub mod h2fix;
mod handlers;
mod identity;
mod jwt_cache;
mod ports;
mod responses;
mod sds;
mod socket;
mod stream;

pub use api::{SECURITY_HEADER, StateRx, WorkloadApi};
pub use claims::{to_proto_struct, to_proto_value};
pub use conn::{WorkloadConn, WorkloadConnInfo};
pub use endpoint::{WorkloadEndpoint, serve, serve_with, serve_with_sds};
pub use error::{RpcError, ServeError};
pub use handlers::{MAX_AUDIENCE_LEN, MAX_AUDIENCES};
pub use identity::{CallerIdentity, caller_identities};
pub use jwt_cache::{JwtCache, JwtKey, is_fresh};
pub use ports::{CallerSelectors, JwtMinter};
pub use responses::{
    jwt_bundles_response, jwt_document, x509_bundles_response, x509_svid_response,
};
pub use sds::{SdsApi, SdsError};
pub use socket::{BoundSocket, SocketFile, accept_conn, incoming, peer_caller};
pub use tessera_proto::jwt_svid::{TokenError, ValidatedJwt, validate_jwt_svid};

#[cfg(test)]
mod tests;
