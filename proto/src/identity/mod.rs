//! Identity types that cross the wire: [`TrustDomain`], [`SpiffeId`], [`Selector`], with every
//! rule of the SPIFFE ID standard, and their one error type [`IdError`].

mod error;
mod path;
mod selector;
mod spiffe_id;
mod trust_domain;
mod uri;

pub use error::IdError;
pub use selector::{MAX_SELECTOR_TYPE_LEN, MAX_SELECTOR_VALUE_LEN, Selector};
pub use spiffe_id::{MAX_SPIFFE_ID_LEN, SpiffeId};
pub use trust_domain::{MAX_TRUST_DOMAIN_LEN, TrustDomain};

pub(crate) use error::excerpt;
