//! Datastore operations, recorded at one place: the [`crate::datastore::Instrumented`]
//! decorator around the configured backend.

use std::future::Future;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};
use tessera_proto::label_values;
use tessera_proto::metrics::{LatencyFamily, latency_family};

use crate::datastore::DatastoreError;

label_values! {
    /// Which kind of datastore error.
    pub enum ErrorKind {
        /// A concurrent writer won (retried by the caller).
        Conflict => "conflict",
        /// A unique key is taken.
        AlreadyExists => "already_exists",
        /// The record is gone.
        NotFound => "not_found",
        /// A stored record does not decode.
        Corrupt => "corrupt",
        /// The storage engine failed.
        Storage => "storage",
        /// The database cannot be reached.
        Unavailable => "unavailable",
    }
}

impl ErrorKind {
    /// The kind of `error`.
    pub fn of(error: &DatastoreError) -> Self {
        match error {
            DatastoreError::Conflict(_) => Self::Conflict,
            DatastoreError::AlreadyExists(_) => Self::AlreadyExists,
            DatastoreError::NotFound(_) => Self::NotFound,
            DatastoreError::Corrupt(_) => Self::Corrupt,
            DatastoreError::Storage(_) => Self::Storage,
            DatastoreError::Unavailable(_) => Self::Unavailable,
        }
    }
}

/// The operation: a datastore trait method's name (a fixed set, from the code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Op {
    op: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OpError {
    op: &'static str,
    kind: ErrorKind,
}

/// `datastore_operation_duration_seconds{op}` and `datastore_errors_total{op, kind}`.
#[derive(Debug, Clone)]
pub struct DatastoreMetrics {
    duration: LatencyFamily<Op>,
    errors: Family<OpError, Counter>,
}

impl Default for DatastoreMetrics {
    fn default() -> Self {
        Self {
            duration: latency_family(),
            errors: Family::default(),
        }
    }
}

impl DatastoreMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register_with_unit(
            "datastore_operation_duration",
            "Datastore operation latency, by operation (the store method)",
            Unit::Seconds,
            m.duration.clone(),
        );
        registry.register(
            "datastore_errors",
            "Datastore operations that failed, by operation and error kind",
            m.errors.clone(),
        );
        m
    }

    /// Runs `operation` (the store method `op`), recording its latency and any error.
    pub async fn time<T>(
        &self,
        op: &'static str,
        operation: impl Future<Output = Result<T, DatastoreError>>,
    ) -> Result<T, DatastoreError> {
        let start = tokio::time::Instant::now();
        let result = operation.await;
        self.duration
            .get_or_create(&Op { op })
            .observe(start.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = ErrorKind::of(e);
            self.errors.get_or_create(&OpError { op, kind }).inc();
        }
        result
    }
}
