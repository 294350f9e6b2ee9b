//! The manager against a fake server over real TLS.

mod fake;
mod lifecycle;
