//! [`AuthorityRewrite`]: the connection-level IO adapter.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::rewriter::Rewriter;

/// Size of the buffer used to read from the wrapped connection.
const READ_CHUNK: usize = 16 * 1024;

/// Wraps an accepted server-side connection (e.g. a `tokio::net::UnixStream`) and rewrites an
/// `:authority` that the `http` crate cannot parse (grpcio sends the percent-encoded socket
/// path over Unix sockets) to `localhost` in every client HEADERS block, before tonic/h2 reads
/// it.
///
/// Writes pass through untouched. On reads, the client's HTTP/2 frames are parsed: frames other
/// than HEADERS/CONTINUATION are forwarded as soon as their bytes arrive; header blocks are
/// HPACK-decoded (mirroring the client's dynamic table) and re-encoded without indexing, so
/// h2's own dynamic table stays empty. Anything the adapter cannot parse — no HTTP/2 preface,
/// an undecodable block, a block above 64 KiB — is passed through unchanged for h2 to judge,
/// and the connection is not rewritten any further.
///
/// ```no_run
/// # async fn serve(listener: tokio::net::UnixListener) -> std::io::Result<()> {
/// use tessera_agent::workload_api::h2fix::AuthorityRewrite;
/// let (stream, _) = listener.accept().await?;
/// let stream = AuthorityRewrite::new(stream); // hand this to tonic's `serve_with_incoming`
/// # let _ = stream; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AuthorityRewrite<IO> {
    io: IO,
    rewriter: Rewriter,
    /// Bytes ready for the reader, from `out_pos` on.
    out: Vec<u8>,
    out_pos: usize,
    /// Read buffer for the wrapped connection.
    scratch: Box<[u8]>,
    /// The wrapped connection reported end of input.
    eof: bool,
}

impl<IO> AuthorityRewrite<IO> {
    /// Wraps a freshly accepted connection (nothing read from it yet).
    pub fn new(io: IO) -> Self {
        Self {
            io,
            rewriter: Rewriter::new(),
            out: Vec::new(),
            out_pos: 0,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            eof: false,
        }
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// How many `:authority` values this connection has had replaced.
    pub fn rewrites(&self) -> u64 {
        self.rewriter.rewrites()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for AuthorityRewrite<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(ready) = this.out.get(this.out_pos..).filter(|r| !r.is_empty()) {
                let n = ready.len().min(buf.remaining());
                buf.put_slice(ready.get(..n).unwrap_or_default());
                this.out_pos += n;
                if this.out_pos >= this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.rewriter.is_raw() {
                // Nothing left to rewrite on this connection: read straight through.
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
            let mut chunk = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut chunk))?;
            let filled = chunk.filled();
            if filled.is_empty() {
                this.rewriter.finish(&mut this.out);
                this.eof = true;
            } else {
                this.rewriter.feed(filled, &mut this.out);
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for AuthorityRewrite<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Connection info (for Unix sockets: the peer's credentials) is the wrapped connection's.
impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected
    for AuthorityRewrite<IO>
{
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}
