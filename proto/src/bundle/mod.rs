//! The SPIFFE bundle document: a JWK Set with `spiffe_sequence` and `spiffe_refresh_hint`
//! carrying a trust domain's X.509 CAs (`use: x509-svid`, one `x5c` certificate, no `kid`) and
//! JWT signing keys (`use: jwt-svid`, with `kid`).

mod document;
mod error;
mod jwk;
mod parse;
mod spki;
mod spki_der;
#[cfg(test)]
mod test_certs;
mod wire;

pub use document::{BundleDocument, JWT_SVID_USE, JwtAuthority, X509_SVID_USE};
pub use error::{BundleError, KeyError};
pub use jwk::{EcCurve, PublicJwk};
pub use parse::{IgnoreReason, IgnoredKey};
