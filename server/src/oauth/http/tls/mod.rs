//! HTTPS for the OAuth server: certificates from PEM files or the server's own X.509-SVID,
//! an optional client certificate whose key possession the handshake proves (its chain is
//! checked later, by client authentication, against the trust bundles), and axum served
//! over tokio-rustls with the chain as a [`super::ClientCertificate`] request extension.

mod files;
mod serve;
mod verifier;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use files::{TlsFileError, config_from_pem_files, read_pem_pair, server_config};
pub use serve::{HANDSHAKE_TIMEOUT, serve, serve_plain};
pub use verifier::AnyClientCertificate;

use std::net::IpAddr;
use std::sync::Arc;

use crate::tls::{ClientAuth, SvidTlsProfile};

/// ALPN protocols the OAuth server speaks.
pub fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// The profile of the OAuth server's SVID configuration: the issuer's host as a SAN, any
/// client certificate requested (optional) and accepted with proven key possession.
pub fn svid_profile(dns_names: Vec<String>, ip_addresses: Vec<IpAddr>) -> SvidTlsProfile {
    SvidTlsProfile {
        label: "OAuth server",
        dns_names,
        ip_addresses,
        client_auth: ClientAuth::Verifier(Arc::new(AnyClientCertificate::new())),
        alpn: alpn(),
    }
}
