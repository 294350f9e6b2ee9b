//! Helpers shared by unit tests in several modules.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Event, Metadata, Subscriber};
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
    // Registering the subscriber recomputes every callsite's interest; the global one
    // keeps that from going deaf later (see `keep_every_callsite_open`).
    keep_every_callsite_open();
    tracing::subscriber::set_default(subscriber)
}

/// Runs `f` with `subscriber` as this thread's default.
pub(crate) fn with_default<T>(
    subscriber: impl Subscriber + Send + Sync + 'static,
    f: impl FnOnce() -> T,
) -> T {
    let _guard = set_default(subscriber);
    f()
}

/// Installs, once per test process, a global subscriber that wants no event but keeps every
/// callsite's interest at "sometimes" and the global level at TRACE.
///
/// Without it, a thread-scoped subscriber can go deaf: while it is the only live dispatcher,
/// `tracing-core` rebuilds interest from the *rebuilding thread's* default, so another test
/// thread (no subscriber) registering a callsite caches "never" and lowers the global level
/// to OFF for everyone. With this one always registered, interest is rebuilt from every live
/// dispatcher, and each event asks the subscriber current on its own thread.
fn keep_every_callsite_open() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when a global subscriber exists already, which keeps callsites open too.
        let _ = tracing::subscriber::set_global_default(Silent);
    });
}

/// Interested in every callsite "sometimes", enabled for nothing.
struct Silent;

impl Subscriber for Silent {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Captures this thread's log (with targets, no colours) until the guard drops.
pub(crate) fn capture_log() -> (Capture, DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_target(true)
        .with_ansi(false)
        .finish();
    (capture, set_default(subscriber))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit() {
        tracing::warn!(target: "tessera::audit", event = "heard");
    }

    /// A callsite first hit by another thread with no subscriber must not go deaf for this
    /// thread's capture (it did whenever the capture was the only live dispatcher).
    #[test]
    fn a_capture_hears_a_callsite_another_thread_hit_first() {
        let (capture, _guard) = capture_log();
        std::thread::spawn(audit).join().unwrap();
        audit();
        assert!(
            capture.text().contains("event=\"heard\""),
            "{}",
            capture.text()
        );
    }
}
