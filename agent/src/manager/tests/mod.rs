//! The manager against a fake server over real TLS.

mod bootstrap;
mod fake;
mod lifecycle;
mod push;
