//! Time is an input: domain code takes `now`, edges read it once from a [`Clock`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A wall clock that advances with tokio's clock, so tests under
/// `#[tokio::test(start_paused = true)]` move wall time with `tokio::time::advance`.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: SystemTime,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `base` now and advancing with tokio time from here.
    pub fn starting_at(base: SystemTime) -> Self {
        Self {
            base,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.base + self.started.elapsed()
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `secs` seconds after the Unix epoch (the epoch itself for negative values).
pub fn from_unix_seconds(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}
