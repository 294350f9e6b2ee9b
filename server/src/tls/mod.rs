//! The server's own X.509-SVID as a TLS server identity, kept current by a publisher that
//! rebuilds the rustls configuration on bundle changes and before the SVID expires. The
//! agent API and (with `[oauth] serve_svid = true`) the OAuth server use it, each with its
//! own [`SvidTlsProfile`].

mod publisher;

pub use publisher::{ClientAuth, SvidTlsProfile, TlsError, TlsPublisher};
