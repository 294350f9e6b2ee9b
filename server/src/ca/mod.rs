//! The trust domain's certificate authority: one engine for every key Tessera signs with.
//!
//! X.509 CAs, JWT-SVID keys and OAuth signing keys rotate PREPARED → ACTIVE → OLD
//! ([`slots`]), each family on its own; the [`CaManager`] persists every change with the
//! bundle before publishing a new [`CaSnapshot`], which signs X.509-SVIDs, JWT-SVIDs and
//! OAuth access tokens and serves the OAuth JWKS. Operators can taint and revoke leaked keys.
//! Every tenant other than `default` has OAuth keys of its own ([`CaManager::set_tenants`]), rotated
//! the same way, with a JWKS of its own.

mod authority;
mod bundle;
mod error;
mod jwt;
mod key;
mod manager;
mod oauth;
mod oauth_published;
mod rotator;
mod round;
mod seal;
pub mod slots;
mod snapshot;
mod tenant_keys;
mod upstream;
mod x509;
#[cfg(fuzzing)]
pub(crate) use x509::SpkiKey;

#[cfg(test)]
mod tests;

pub use authority::{DEFAULT_TENANT, KeySet, Kind};
pub use error::CaError;
pub use key::{KeyType, PrivateKey};
pub use manager::{CaConfig, CaManager};
pub use oauth::OAuthKeys;
pub use rotator::Rotator;
pub use seal::{SealedKey, Sealer};
pub use slots::SlotState;
pub use snapshot::{AuthorityInfo, CaSnapshot, IssuedJwtSvid, IssuedX509Svid, X509SvidRequest};
pub use upstream::UpstreamAuthority;
