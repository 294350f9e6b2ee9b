//! Logging shared by both binaries: text or JSON lines on stderr via `tracing`;
//! `RUST_LOG` overrides the configured level. Audit events use the `tessera::audit` target.

use std::io::IsTerminal as _;

use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Log output format (`log_format` in both config files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Log levels accepted by `log_level`.
pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// A layer of the global subscriber, with its own filter.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(level: &str, format: LogFormat) {
    init_with(level, format, Vec::new());
}

/// [`init`], with `extra` layers beside the log (each filtered on its own: the log level
/// and `RUST_LOG` apply to the log only).
pub fn init_with(level: &str, format: LogFormat, extra: Vec<BoxedLayer>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let log = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let log: BoxedLayer = match format {
        LogFormat::Text => log.with_filter(filter).boxed(),
        LogFormat::Json => log.json().with_filter(filter).boxed(),
    };
    let mut layers = vec![log];
    layers.extend(extra);
    let _ = tracing_subscriber::registry().with(layers).try_init();
}
