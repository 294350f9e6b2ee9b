//! Tessera's wire contracts and the identity types that cross the wire.
//!
//! - [`wire`]: generated gRPC code (SPIFFE Workload API, `tessera.agent.v1`, `tessera.admin.v1`).
//! - [`identity`]: `TrustDomain`, `SpiffeId`, `Selector` with every rule of the SPIFFE ID spec.
//! - [`bundle`]: the SPIFFE bundle document (a JWKS with `spiffe_sequence`).
//! - [`jwt`]: the one compact JWS / JWT parser (segments, base64url, NumericDate).
//! - [`jwt_svid`]: JWT-SVID validation against own and federated bundles.
//! - [`dns_name`]: the DNS-name rules for X.509-SVID SANs (registration and CA alike).
//! - [`duration`]: the `"24h"` / `"5m"` duration syntax used by every config file.
//! - [`clock`]: time as an input.
//! - [`config_file`]: TOML config files with key-path errors.
//! - [`private_dir`]: `data_dir` 0700 / files 0600 whatever the umask.
//! - [`x509_chain`]: the one X.509 chain verifier (one algorithm allowlist) for server and agent.
//! - [`x509_san`]: the one URI-SAN / SPIFFE-ID extractor for X.509 certificates.
//! - [`telemetry`]: logging shared by both binaries.

pub mod backoff;
pub mod bundle;
pub mod clock;
pub mod config_file;
pub mod dns_name;
pub mod duration;
pub mod health;
pub mod identity;
pub mod jwt;
pub mod jwt_svid;
pub mod metrics;
pub mod ops;
pub mod parallel;
pub mod private_dir;
pub mod telemetry;
pub mod wire;
pub mod x509_chain;
pub mod x509_san;
