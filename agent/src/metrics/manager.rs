//! The manager: cache size, X.509-SVID rotations, sync rounds.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tessera_proto::label_values;
use tessera_proto::metrics::{LatencyFamily, Outcome, latency_family};

label_values! {
    /// Why an X.509-SVID was issued for a cached entry.
    pub enum RotationReason {
        /// The entry had none.
        New => "new",
        /// The held one expired.
        Expired => "expired",
        /// Past its rotation point (about half its life).
        HalfLife => "half_life",
        /// The entry changed.
        EntryChanged => "entry_changed",
        /// Its issuing authority was tainted.
        Tainted => "tainted",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: RotationReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: Outcome,
}

/// `cache_entries`, `cache_x509_svids`, `x509_svid_rotations_total{reason}`,
/// `sync_duration_seconds{result}`, `sync_entries`, `push_signals_total` and
/// `push_connected`.
#[derive(Debug, Clone)]
pub struct ManagerMetrics {
    entries: Gauge,
    svids: Gauge,
    rotations: Family<ReasonLabel, Counter>,
    sync_duration: LatencyFamily<ResultLabel>,
    sync_entries: Histogram,
    push_signals: Counter,
    push_connected: Gauge,
}

impl Default for ManagerMetrics {
    fn default() -> Self {
        Self {
            entries: Gauge::default(),
            svids: Gauge::default(),
            rotations: Family::default(),
            sync_duration: latency_family(),
            // 1 to 16384 entries per agent.
            sync_entries: Histogram::new(exponential_buckets(1.0, 4.0, 8)),
            push_signals: Counter::default(),
            push_connected: Gauge::default(),
        }
    }
}

impl ManagerMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "cache_entries",
            "Registration entries authorized for this agent (cached)",
            m.entries.clone(),
        );
        registry.register(
            "cache_x509_svids",
            "X.509-SVIDs held for cached entries",
            m.svids.clone(),
        );
        registry.register(
            "x509_svid_rotations",
            "X.509-SVIDs received for cached entries, by reason (new, expired, half_life, \
             entry_changed, tainted)",
            m.rotations.clone(),
        );
        registry.register_with_unit(
            "sync_duration",
            "Sync rounds with the server (identity, bundles, entries, SVIDs), by result",
            Unit::Seconds,
            m.sync_duration.clone(),
        );
        registry.register(
            "sync_entries",
            "Entries authorized for this agent at each successful entry sync",
            m.sync_entries.clone(),
        );
        registry.register(
            "push_signals",
            "Change signals pushed by the server (WatchChanges); each wakes the sync loop \
             (signals arriving during a round cause one more round)",
            m.push_signals.clone(),
        );
        registry.register(
            "push_connected",
            "1 while a WatchChanges stream to the server is open (0: polling only)",
            m.push_connected.clone(),
        );
        for result in [Outcome::Ok, Outcome::Error] {
            let _ = m.sync_duration.get_or_create(&ResultLabel { result });
        }
        m
    }

    /// The cache now holds `entries` entries and `svids` X.509-SVIDs.
    pub fn cache(&self, entries: usize, svids: usize) {
        self.entries.set(i64::try_from(entries).unwrap_or(i64::MAX));
        self.svids.set(i64::try_from(svids).unwrap_or(i64::MAX));
    }

    /// An X.509-SVID was received and kept, issued for `reason`.
    pub fn rotated(&self, reason: RotationReason) {
        self.rotations.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// A round ended with `result` after `elapsed`.
    pub fn round(&self, result: Outcome, elapsed: Duration) {
        self.sync_duration
            .get_or_create(&ResultLabel { result })
            .observe(elapsed.as_secs_f64());
    }

    /// The server pushed a change signal.
    pub fn push_signal(&self) {
        self.push_signals.inc();
    }

    /// The push stream is open (`true`) or not.
    pub fn push_connected(&self, open: bool) {
        self.push_connected.set(i64::from(open));
    }

    /// An entry sync returned `entries` entries.
    pub fn synced(&self, entries: usize) {
        self.sync_entries.observe(entries as f64);
    }
}
