//! SVIDs signed by the CA for agents and workloads.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};
use tessera_proto::label_values;
use tessera_proto::metrics::{LatencyFamily, Outcome, latency_family};

label_values! {
    /// Which kind of SVID.
    pub enum SvidKind {
        /// X.509-SVID (workloads and agents).
        X509 => "x509",
        /// JWT-SVID.
        Jwt => "jwt",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Signed {
    kind: SvidKind,
    result: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindOnly {
    kind: SvidKind,
}

/// `svids_signed_total{kind, result}` and `svid_signing_duration_seconds{kind}`.
#[derive(Debug, Clone)]
pub struct SvidMetrics {
    signed: Family<Signed, Counter>,
    duration: LatencyFamily<KindOnly>,
}

impl Default for SvidMetrics {
    fn default() -> Self {
        Self {
            signed: Family::default(),
            duration: latency_family(),
        }
    }
}

impl SvidMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "svids_signed",
            "SVIDs the CA signed, by kind (x509, jwt) and result (ok, error)",
            m.signed.clone(),
        );
        registry.register_with_unit(
            "svid_signing_duration",
            "Time to sign one SVID (CSR check, signing), by kind",
            Unit::Seconds,
            m.duration.clone(),
        );
        // Every series exists from the start (at 0), so rates and alerts work at once.
        for kind in [SvidKind::X509, SvidKind::Jwt] {
            for result in [Outcome::Ok, Outcome::Error] {
                let _ = m.signed.get_or_create(&Signed { kind, result });
            }
        }
        m
    }

    /// One signing attempt of `kind` that took `elapsed`.
    pub fn record(&self, kind: SvidKind, result: Outcome, elapsed: Duration) {
        self.signed.get_or_create(&Signed { kind, result }).inc();
        self.duration
            .get_or_create(&KindOnly { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// Times `sign` and records it.
    pub fn time<T, E>(&self, kind: SvidKind, sign: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let start = tokio::time::Instant::now();
        let result = sign();
        self.record(kind, Outcome::of(&result), start.elapsed());
        result
    }
}
