//! [`HttpEndpoint`]: one bound listener serving an axum router over plain HTTP/1.1.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why an operations endpoint could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The configured address could not be bound.
    #[error("{what}.bind_address {address}: {source}")]
    Bind {
        /// The config section (`health`, `metrics`, `health+metrics`).
        what: &'static str,
        /// The configured address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("{what} endpoint: {source}")]
    Serve {
        /// The config section.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound listener and what it serves, run by [`HttpEndpoint::run`].
#[derive(Debug)]
pub struct HttpEndpoint {
    what: &'static str,
    listener: TcpListener,
    router: Router,
}

impl HttpEndpoint {
    /// Binds `address` (at start, so a taken port fails start-up) for `router`.
    pub async fn bind(
        what: &'static str,
        address: SocketAddr,
        router: Router,
    ) -> Result<Self, EndpointError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| EndpointError::Bind {
                what,
                address,
                source,
            })?;
        Ok(Self {
            what,
            listener,
            router,
        })
    }

    /// The bound address (the port when `:0` was configured).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Which section this endpoint serves.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Serves until `shutdown`, then finishes the requests in flight.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), EndpointError> {
        let what = self.what;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(|source| EndpointError::Serve { what, source })
    }
}
