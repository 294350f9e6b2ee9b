//! [`WorkloadConn`]: an accepted Workload API connection carrying its caller's credentials
//! into every request as [`WorkloadConnInfo`].

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tessera_proto::identity::Selector;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OnceCell, OwnedSemaphorePermit};
use tonic::transport::server::Connected;

use crate::attestor::workload::Caller;
use crate::metrics::ConnectionGuard;

/// What handlers learn about the connection, from
/// `request.extensions().get::<WorkloadConnInfo>()`.
#[derive(Debug, Clone, Default)]
pub struct WorkloadConnInfo {
    /// The peer process, from its socket credentials and start time at accept time (the
    /// pin); `None` when the platform could not tell or the process was already gone (such
    /// callers are refused).
    pub caller: Option<Caller>,
    /// The caller's selectors, computed by the first call that attests it and reused by
    /// every later call on this connection (each of which first checks that the pinned
    /// process is still the one behind the PID).
    pub selectors: Arc<OnceCell<Vec<Selector>>>,
}

/// A connection to the Workload API: any byte stream (a `UnixStream`, or a layer over one)
/// plus the caller read from the socket when it was accepted.
#[derive(Debug)]
pub struct WorkloadConn<IO> {
    io: IO,
    caller: Option<Caller>,
    selectors: Arc<OnceCell<Vec<Selector>>>,
    /// The connection's slot under the endpoint's connection cap, freed on drop.
    _permit: Option<OwnedSemaphorePermit>,
    /// Counts the connection as open until dropped.
    _open: Option<ConnectionGuard>,
}

impl<IO> WorkloadConn<IO> {
    /// Wraps `io`, remembering `caller`.
    pub fn new(io: IO, caller: Option<Caller>) -> Self {
        Self {
            io,
            caller,
            selectors: Arc::default(),
            _permit: None,
            _open: None,
        }
    }

    /// Counts the connection as open (metrics) until it is dropped.
    pub fn with_guard(mut self, guard: ConnectionGuard) -> Self {
        self._open = Some(guard);
        self
    }

    /// Holds `permit` (a slot under a connection cap) until the connection is dropped.
    pub fn with_permit(mut self, permit: OwnedSemaphorePermit) -> Self {
        self._permit = Some(permit);
        self
    }

    /// The caller given at construction.
    pub fn caller(&self) -> Option<Caller> {
        self.caller
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> IO {
        self.io
    }
}

impl<IO> Connected for WorkloadConn<IO> {
    type ConnectInfo = WorkloadConnInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        WorkloadConnInfo {
            caller: self.caller,
            selectors: Arc::clone(&self.selectors),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for WorkloadConn<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for WorkloadConn<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
