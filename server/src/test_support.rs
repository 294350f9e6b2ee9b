//! Helpers shared by unit tests in several modules.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::Subscriber;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// Captures what a tracing subscriber writes, for tests that read the log: give a clone to
/// the subscriber's `with_writer`, then read [`Capture::text`].
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Makes `subscriber` this thread's default until the guard drops.
pub(crate) fn set_default(subscriber: impl Subscriber + Send + Sync + 'static) -> DefaultGuard {
    let guard = tracing::subscriber::set_default(subscriber);
    // Another test thread may have registered callsites while this subscriber was being
    // created, caching "never interested": re-evaluate them against it.
    tracing::callsite::rebuild_interest_cache();
    guard
}

/// Captures this thread's log (with targets, no colours) until the guard drops.
pub(crate) fn capture_log() -> (Capture, DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_target(true)
        .with_ansi(false)
        .finish();
    let guard = set_default(subscriber);
    // Callsites first hit by a parallel test with no subscriber may have cached "never":
    // recompute every callsite's interest now that this thread's subscriber exists.
    tracing::callsite::rebuild_interest_cache();
    (capture, guard)
}
