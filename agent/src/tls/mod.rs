//! TLS to the server: a verifier that authorizes the server by SPIFFE ID, and the
//! connector that dials TCP + TLS for tonic.

mod connect;
mod verifier;

pub use connect::{ConnectError, client_config, connect};
pub use verifier::{InsecureBootstrapVerifier, SpiffeServerVerifier};
