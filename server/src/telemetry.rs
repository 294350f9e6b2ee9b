//! Logging: see [`tessera_proto::telemetry`].

pub use tessera_proto::telemetry::init;
