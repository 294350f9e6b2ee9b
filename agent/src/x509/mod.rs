//! X.509 helpers: key + CSR generation, certificate facts, chain verification against a
//! bundle, and the SVID-with-key type.

mod cert;
mod keys;
mod svid;
mod verify;

pub use cert::{LeafFacts, X509Error, subject_key_id};
pub use keys::{NewKey, generate_key};
pub use svid::SvidWithKey;
pub(crate) use verify::verify_der_for_tls;
pub use verify::{trust_anchors, verify_svid, verify_svid_chain};
