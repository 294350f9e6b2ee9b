//! Envoy SDS v3 (`envoy.service.secret.v3.SecretDiscoveryService`) on the Workload API socket,
//! for the same callers, attested the same way, over the same manager state (SPIRE's `sds`).
//!
//! - [`SdsApi`] — the tonic service: `StreamSecrets`, `FetchSecrets`; `DeltaSecrets` answers
//!   `Unimplemented`. Registered next to the Workload API by the endpoint.
//! - `catalog` — every secret a caller may get, by resource name; `session` — the xDS
//!   state-of-the-world protocol of one stream as a pure state machine; `stream` — the task
//!   that feeds a session with requests and state updates.
//!
//! Resources (names configurable under `[sds]`): a TLS certificate per SVID of the caller by
//! its SPIFFE ID and the default (first) one as `default`; the own bundle as `ROOTCA` and as
//! `spiffe://<trust domain>`; each federated bundle the caller's entries federate with as
//! `spiffe://<trust domain>`; `ALL` for all of them. Validation contexts use Envoy's SPIFFE
//! certificate validator (`envoy.tls.cert_validator.spiffe`, one trust bundle per trust
//! domain) unless `disable_spiffe_cert_validation`, which serves `trusted_ca` PEM instead.
//! An empty subscription means every SVID and bundle by its SPIFFE ID (not the aliases).
//!
//! Behaviour (SPIRE's where it has one): no `workload.spiffe.io` header is required (Envoy
//! does not send one; SPIRE does not ask for it on SDS); a caller without an identity is
//! refused with `PermissionDenied` (fail closed, as the Workload API); asking for a name the
//! caller is not entitled to ends the call with `InvalidArgument`, naming what was refused.
//! Streams follow the xDS rules: each response has a new `version_info` and a fresh
//! `nonce`; a request whose `response_nonce` is not the last one sent is stale and ignored;
//! an ACK or a NACK (`error_detail`, logged) with an unchanged subscription gets no answer,
//! so a rejected version is never resent in a loop; a changed subscription is answered at
//! once; a new state (rotation, bundle or entry change) is pushed only when the stream's
//! own resources differ from what it was last sent.

mod catalog;
mod error;
mod service;
mod session;
mod stream;

pub use error::SdsError;
pub use service::SdsApi;

#[cfg(test)]
mod tests;
