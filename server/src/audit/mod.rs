//! The audit trail: every authentication and authorization decision and every admin change
//! as one JSON record with a stable schema ([`AuditRecord`]), hash-chained (each record
//! carries the SHA-256 of the line before it) so that an edited, removed or reordered record
//! is detected by `tessera-server audit verify`.
//!
//! Call sites emit `tracing` events with the target [`TARGET`] (`event = "…"` plus fields);
//! [`AuditLayer`] turns them into records and hands them to the [`ChainWriter`] of the
//! configured sink (`[audit]`: a JSON-lines file with size-based rotation, or stderr). The
//! events still reach the ordinary log as well.

mod chain;
mod layer;
mod record;
mod verify;

pub use chain::{AuditSink, ChainWriter, GENESIS};
pub use layer::AuditLayer;
pub use record::{AuditRecord, SCHEMA_VERSION};
pub use verify::{Verified, VerifyError, verify_files};

/// The `tracing` target of audit events.
pub const TARGET: &str = "tessera::audit";
