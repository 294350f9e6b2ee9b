//! The server's own X.509-SVID as a TLS server identity, kept current by a publisher that
//! rebuilds the rustls configuration on bundle changes and before the SVID expires. The
//! agent API and (with `[oauth] serve_svid = true`) the OAuth server use it, each with its
//! own [`SvidTlsProfile`].

mod publisher;

pub use publisher::{ClientAuth, SvidTlsProfile, TlsError, TlsPublisher};

/// Prepares a socket the server accepted for TLS (agent API, OAuth, bundle endpoint):
/// `TCP_NODELAY`, so a reply's later small writes (gRPC data and trailers after headers)
/// do not wait ~40 ms for the peer's delayed ACK.
pub(crate) fn accepted(tcp: &tokio::net::TcpStream, peer: std::net::SocketAddr) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
    }
}
