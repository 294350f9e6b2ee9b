//! Prometheus metrics shared by server and agent: the `[metrics]` section, the `/metrics`
//! router (Prometheus text format 0.0.4, encoded by `prometheus-client` on every scrape),
//! `tessera_build_info`, latency buckets and the label-value enums both binaries use.
//!
//! Every label value comes from a fixed set ([`label_values!`]): no token, secret, user or
//! unbounded request data ever becomes a label.

mod build_info;
mod config;
mod exposition;
mod labels;

pub use build_info::register_build_info;
pub use config::MetricsSection;
pub use exposition::{CONTENT_TYPE, encode, router};
pub use labels::{LATENCY_BUCKETS, LatencyFamily, Outcome, latency_family, latency_histogram};

/// What [`label_values!`] expands to needs these.
#[doc(hidden)]
pub mod reexport {
    pub use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
}
