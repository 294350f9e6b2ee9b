//! Accepting TLS connections for tonic with the current `ServerConfig`: handshakes run
//! off the accept loop, each with a deadline.

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use super::limits::{AgentApiLimits, Guarded};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for tonic.
const BACKLOG: usize = 256;

/// A stream of established TLS connections for `Server::serve_with_incoming`.
pub type Incoming =
    tokio_stream::wrappers::ReceiverStream<Result<Guarded<TlsStream<TcpStream>>, std::io::Error>>;

/// Accepts on `listener` until `shutdown`, handshaking each connection with the config
/// current at accept time; at most `limits.max_connections` at once (handshakes included),
/// each closed after `limits.idle_timeout` without a byte from the peer.
pub fn incoming(
    listener: TcpListener,
    tls: watch::Receiver<Arc<ServerConfig>>,
    limits: AgentApiLimits,
    shutdown: CancellationToken,
) -> Incoming {
    let (tx, rx) = mpsc::channel(BACKLOG);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => return,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            crate::tls::accepted(&tcp, peer);
            let acceptor = TlsAcceptor::from(tls.borrow().clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let stream = Guarded::new(stream, limits.idle_timeout, permit);
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake refused"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
