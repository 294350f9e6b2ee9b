//! The Workload API: connections, open streams, calls by RPC and gRPC status.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tessera_proto::label_values;
use tonic::Code;

label_values! {
    /// A Workload API RPC.
    pub enum Rpc {
        /// `FetchX509SVID` (stream).
        FetchX509Svid => "FetchX509SVID",
        /// `FetchX509Bundles` (stream).
        FetchX509Bundles => "FetchX509Bundles",
        /// `FetchJWTSVID`.
        FetchJwtSvid => "FetchJWTSVID",
        /// `FetchJWTBundles` (stream).
        FetchJwtBundles => "FetchJWTBundles",
        /// `ValidateJWTSVID`.
        ValidateJwtSvid => "ValidateJWTSVID",
    }
}

/// A gRPC status code, labelled by its canonical name (`OK`, `PERMISSION_DENIED`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrpcCode(pub Code);

impl GrpcCode {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl EncodeLabelValue for GrpcCode {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    rpc: Rpc,
    code: GrpcCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RpcOnly {
    rpc: Rpc,
}

/// `workload_api_connections_total`, `workload_api_open_connections`,
/// `workload_api_open_streams{rpc}` and `workload_api_calls_total{rpc, code}`.
#[derive(Debug, Clone, Default)]
pub struct WorkloadApiMetrics {
    connections: Counter,
    open_connections: Gauge,
    open_streams: Family<RpcOnly, Gauge>,
    calls: Family<CallLabels, Counter>,
}

impl WorkloadApiMetrics {
    /// Registered on `registry`.
    pub fn registered(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "workload_api_connections",
            "Workload API connections accepted",
            m.connections.clone(),
        );
        registry.register(
            "workload_api_open_connections",
            "Workload API connections open now",
            m.open_connections.clone(),
        );
        registry.register(
            "workload_api_open_streams",
            "Workload API streams open now, by RPC",
            m.open_streams.clone(),
        );
        registry.register(
            "workload_api_calls",
            "Workload API calls answered, by RPC and gRPC status (a stream counts once, \
             when it opens or is refused)",
            m.calls.clone(),
        );
        // The stream gauges exist from the start (at 0).
        for rpc in [
            Rpc::FetchX509Svid,
            Rpc::FetchX509Bundles,
            Rpc::FetchJwtBundles,
        ] {
            let _ = m.open_streams.get_or_create(&RpcOnly { rpc });
        }
        m
    }

    /// A connection was accepted: open until the guard drops.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections.inc();
        self.open_connections.inc();
        ConnectionGuard(self.open_connections.clone())
    }

    /// A stream of `rpc` opened: open until the guard drops.
    pub fn stream_opened(&self, rpc: Rpc) -> StreamGuard {
        let gauge = self.open_streams.get_or_create_owned(&RpcOnly { rpc });
        gauge.inc();
        StreamGuard(gauge)
    }

    /// `rpc` answered `result`; returns it.
    pub fn call<T>(&self, rpc: Rpc, result: Result<T, tonic::Status>) -> Result<T, tonic::Status> {
        let code = match &result {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        self.calls
            .get_or_create(&CallLabels {
                rpc,
                code: GrpcCode(code),
            })
            .inc();
        result
    }
}

/// Counts an open connection down when dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Counts an open stream down when dropped.
#[derive(Debug)]
pub struct StreamGuard(Gauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn guards_and_calls() {
        let mut registry = Registry::default();
        let m = WorkloadApiMetrics::registered(&mut registry);
        let conn = m.connection_opened();
        let stream = m.stream_opened(Rpc::FetchX509Svid);
        let _ = m.call(Rpc::FetchX509Svid, Ok(()));
        let _ = m.call::<()>(
            Rpc::FetchJwtSvid,
            Err(tonic::Status::permission_denied("x")),
        );
        let text = tessera_proto::metrics::encode(&registry).unwrap();
        assert!(text.contains("workload_api_open_connections 1\n"), "{text}");
        assert!(
            text.contains("workload_api_open_streams{rpc=\"FetchX509SVID\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "workload_api_calls_total{rpc=\"FetchJWTSVID\",code=\"PERMISSION_DENIED\"} 1\n"
            ),
            "{text}"
        );
        drop((conn, stream));
        let text = tessera_proto::metrics::encode(&registry).unwrap();
        assert!(text.contains("workload_api_open_connections 0\n"), "{text}");
        assert!(
            text.contains("workload_api_connections_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("workload_api_open_streams{rpc=\"FetchX509SVID\"} 0\n"),
            "{text}"
        );
    }
}
