//! Logging (see [`tessera_proto::telemetry`]) and the audit trail's layer.

use std::sync::Arc;

use tessera_proto::clock::SystemClock;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::filter_fn;

pub use tessera_proto::telemetry::init;

use crate::audit::{AuditLayer, ChainWriter};
use crate::config::ServerConfig;

/// Installs the log and, when `[audit]` names a sink, the audit trail. An audit file that
/// cannot be opened (or whose last line is not a record) is an error: the server does not
/// start without the trail it was told to keep.
pub fn init_server(config: &ServerConfig) -> Result<(), String> {
    let mut extra = Vec::new();
    if let Some(sink) = &config.audit.sink {
        let writer = ChainWriter::open(sink.clone()).map_err(|e| format!("audit: {e}"))?;
        let layer = AuditLayer::new(writer, Arc::new(SystemClock));
        extra.push(layer.with_filter(filter_fn(AuditLayer::wants)).boxed());
    }
    tessera_proto::telemetry::init_with(&config.log_level, config.log_format, extra);
    Ok(())
}
