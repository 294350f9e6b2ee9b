//! Bounds of the agent API before (and after) authentication: connections served at once,
//! how long an established connection may stay silent, and how many node attestations run
//! per second (each may cost TokenReview, pod and node calls to a Kubernetes API).

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tessera_proto::duration::serde_str;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;

/// `[agent_api]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentApiLimits {
    /// Connections (including TLS handshakes in progress) served at once; further clients
    /// wait in the listen backlog.
    pub max_connections: usize,
    /// An established connection that sends nothing for this long is closed.
    #[serde(with = "serde_str")]
    pub idle_timeout: Duration,
    /// Node attestations (`Attest`) started per second, server-wide; beyond it (after a
    /// burst of twice as many) `ResourceExhausted`.
    pub attest_per_second: u32,
    /// Serve `WatchChanges`: agents are told about entry and bundle changes as they
    /// happen; off, agents learn them at their next periodic sync.
    pub push: bool,
}

impl Default for AgentApiLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
            attest_per_second: 20,
            push: true,
        }
    }
}

/// A token bucket over injected time: `rate` tokens per second, at most `2 × rate` saved.
#[derive(Debug)]
pub struct AttestRate {
    rate: f64,
    state: Mutex<(f64, Option<SystemTime>)>,
}

impl AttestRate {
    /// `per_second` attestations per second (0: unlimited).
    pub fn new(per_second: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            state: Mutex::new((f64::from(per_second) * 2.0, None)),
        }
    }

    /// Takes one token at `now`; `false` when none is left.
    pub fn try_take(&self, now: SystemTime) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let (tokens, last) = &mut *state;
        if let Some(last) = *last {
            let elapsed = now.duration_since(last).unwrap_or_default().as_secs_f64();
            *tokens = (*tokens + elapsed * self.rate).min(self.rate * 2.0);
        }
        *last = Some(now);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A connection holding its slot under the connection cap, closed (read error `TimedOut`)
/// when the peer sends nothing for the idle timeout.
#[derive(Debug)]
pub struct Guarded<IO> {
    io: IO,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl<IO> Guarded<IO> {
    /// Wraps `io`, holding `permit` until dropped.
    pub fn new(io: IO, idle: Duration, permit: OwnedSemaphorePermit) -> Self {
        Self {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            _permit: permit,
        }
    }
}

impl<IO: Connected> Connected for Guarded<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "agent API connection idle",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_attest_bucket_allows_a_burst_then_the_rate() {
        let rate = AttestRate::new(2);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let taken = (0..10).filter(|_| rate.try_take(t0)).count();
        assert_eq!(taken, 4, "burst of twice the rate");
        assert!(!rate.try_take(t0 + Duration::from_millis(400)));
        assert!(rate.try_take(t0 + Duration::from_millis(500)));
        assert!(!rate.try_take(t0 + Duration::from_millis(500)));
        assert!(AttestRate::new(0).try_take(t0), "0 = unlimited");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_closed_after_the_idle_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(64);
        let permit = std::sync::Arc::new(tokio::sync::Semaphore::new(1))
            .acquire_owned()
            .await
            .unwrap();
        let mut guarded = Guarded::new(server, Duration::from_secs(10), permit);
        let mut buf = [0u8; 8];
        tokio::time::advance(Duration::from_secs(9)).await;
        client.write_all(b"hi").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 2);
        // The deadline moved: 9 s after the last bytes the connection is still open.
        tokio::time::advance(Duration::from_secs(9)).await;
        client.write_all(b"x").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 1);
        let err = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
