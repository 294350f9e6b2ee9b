//! [`AuditLayer`]: a `tracing` layer that turns events of the audit target into chained
//! records. The request id comes from the innermost enclosing span with a `request_id`
//! field.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tessera_proto::clock::Clock;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::{AuditRecord, ChainWriter, TARGET};

/// The name of the spans whose `request_id` field audit records carry.
pub const REQUEST_SPAN: &str = "request";

/// A request span's `request_id` and `tenant`, kept in its extensions.
struct RequestId(String, Option<String>);

/// An event's fields as text.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        // A string passed with `?` arrives quoted: the record holds the string.
        let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) if !inner.contains('"') => inner.to_owned(),
            _ => text,
        };
        self.0.insert(field.name().to_owned(), text);
    }
}

/// RFC 3339 UTC with milliseconds.
fn rfc3339(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Writes every event of [`TARGET`] to a [`ChainWriter`].
#[derive(Debug)]
pub struct AuditLayer {
    writer: Arc<Mutex<ChainWriter>>,
    clock: Arc<dyn Clock>,
    /// Set once a write failed (reported once on stderr, not through `tracing`).
    failed: AtomicBool,
}

impl AuditLayer {
    /// Records to `writer`, stamped with `clock`'s time.
    pub fn new(writer: ChainWriter, clock: Arc<dyn Clock>) -> Self {
        Self {
            writer: Arc::new(Mutex::new(writer)),
            clock,
            failed: AtomicBool::new(false),
        }
    }

    /// Whether the layer sees `metadata` (its filter): audit events, and the `request`
    /// spans that carry request ids.
    pub fn wants(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == TARGET || (metadata.is_span() && metadata.name() == REQUEST_SPAN)
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for AuditLayer {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(request_id), Some(span)) = (fields.0.remove("request_id"), ctx.span(id)) {
            let tenant = fields.0.remove("tenant");
            span.extensions_mut().insert(RequestId(request_id, tenant));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let request = ctx.event_scope(event).and_then(|scope| {
            scope.into_iter().find_map(|span| {
                span.extensions()
                    .get::<RequestId>()
                    .map(|r| (r.0.clone(), r.1.clone()))
            })
        });
        let (request_id, tenant) = match request {
            Some((id, tenant)) => (Some(id), tenant),
            None => (None, None),
        };
        let record =
            AuditRecord::from_fields(fields.0, rfc3339(self.clock.now()), request_id, tenant);
        let written = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(record);
        if let Err(e) = written
            && !self.failed.swap(true, Ordering::SeqCst)
        {
            eprintln!("error: the audit trail cannot be written: {e}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::super::{AuditSink, verify_files};
    use super::*;

    #[test]
    fn audit_events_become_chained_records_with_the_spans_request_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = AuditSink::File {
            path: path.clone(),
            max_bytes: u64::MAX,
            max_files: 1,
        };
        #[derive(Debug)]
        struct Fixed;
        impl Clock for Fixed {
            fn now(&self) -> std::time::SystemTime {
                UNIX_EPOCH + Duration::from_millis(1_796_317_200_123)
            }
        }
        let clock = Arc::new(Fixed);
        let layer = AuditLayer::new(ChainWriter::open(sink).unwrap(), clock);
        let subscriber = tracing_subscriber::registry().with(layer);
        crate::test_support::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "req-1");
            let _entered = span.enter();
            tracing::info!(target: "tessera::audit", event = "oauth_token_issued", client_id = "partner", decision = "allow", scope = %"read");
            tracing::info!("an ordinary log line is not audited");
            tracing::warn!(target: "tessera::audit", event = "oauth_token_refused", client_id = "partner", decision = "deny", reason = "invalid_client");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0].event, "oauth_token_issued");
        assert_eq!(lines[0].time, "2026-12-03T17:00:00.123Z");
        assert_eq!(lines[0].request_id.as_deref(), Some("req-1"));
        assert_eq!(lines[0].details["scope"], "read");
        assert_eq!(lines[1].reason.as_deref(), Some("invalid_client"));
        assert_eq!(verify_files(&[&path]).unwrap().records, 2);
    }
}
