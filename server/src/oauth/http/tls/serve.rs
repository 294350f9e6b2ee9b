//! Serving a router over TLS (accept, handshake off the accept loop under a deadline) or
//! plain HTTP, then HTTP/1.1 or HTTP/2 (hyper-util auto) with an HTTP/1 header read timeout
//! and, over TLS, the client certificate (when one was presented) as a request extension
//! on every request of the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::oauth::http::{ClientCertificate, OAuthHttpError};

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Adds the connection's client certificate (if any) to each request.
fn with_certificate<B>(
    certificate: Option<ClientCertificate>,
    peer: SocketAddr,
) -> impl FnMut(http::Request<B>) -> http::Request<B> + Clone {
    move |mut request| {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        if let Some(certificate) = &certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        request
    }
}

/// Serves one accepted connection (plain or TLS) until it ends or shutdown drains it.
async fn serve_connection<I>(
    io: I,
    router: Router,
    certificate: Option<ClientCertificate>,
    peer: SocketAddr,
    header_read_timeout: Duration,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router.map_request(with_certificate(certificate, peer)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %e, "oauth connection ended with an error");
    }
}

/// Serves `router` over plain HTTP on `listener` until `shutdown`, then lets open
/// connections finish. HTTP/1 headers must arrive within `header_read_timeout`.
pub async fn serve_plain(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) -> Result<(), OAuthHttpError> {
    let graceful = GracefulShutdown::new();
    while let Some((tcp, peer)) = next_connection(&listener, &shutdown).await {
        let watcher = graceful.watcher();
        let router = router.clone();
        tokio::spawn(serve_connection(
            tcp,
            router,
            None,
            peer,
            header_read_timeout,
            watcher,
        ));
    }
    drain(listener, graceful).await;
    Ok(())
}

/// The next accepted connection (with TCP_NODELAY), or `None` once `shutdown` fires.
/// Accept errors (e.g. EMFILE) are logged and retried after 50 ms instead of spinning.
async fn next_connection(
    listener: &TcpListener,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                crate::tls::accepted(&tcp, peer);
                return Some((tcp, peer));
            }
            Err(e) => {
                tracing::warn!(error = %e, "oauth accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn drain(listener: TcpListener, graceful: GracefulShutdown) {
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("oauth connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

/// Serves `router` over TLS on `listener` (each handshake with the configuration current
/// at accept time) until `shutdown`, then lets open connections finish. HTTP/1 headers
/// must arrive within `header_read_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: watch::Receiver<Arc<ServerConfig>>,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) -> Result<(), OAuthHttpError> {
    let graceful = GracefulShutdown::new();
    while let Some((tcp, peer)) = next_connection(&listener, &shutdown).await {
        let acceptor = TlsAcceptor::from(tls.borrow().clone());
        let router = router.clone();
        let watcher = graceful.watcher();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                result = handshake => match result {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "oauth TLS handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "oauth TLS handshake timed out");
                        return;
                    }
                },
            };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .filter(|chain| !chain.is_empty())
                .map(|chain| {
                    ClientCertificate(Arc::new(
                        chain.iter().map(|c| c.clone().into_owned()).collect(),
                    ))
                });
            serve_connection(
                stream,
                router,
                certificate,
                peer,
                header_read_timeout,
                watcher,
            )
            .await;
        });
    }
    drain(listener, graceful).await;
    Ok(())
}
