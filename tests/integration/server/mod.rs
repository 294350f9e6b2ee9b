//! `tessera-server` end to end: run, bundle show, authorities, entries, restart, bad input,
//! join tokens and agents.

mod authority;
mod bad_input;
mod bundle;
mod entry;
mod token;

/// A minimal config for a server in a temporary directory (relative data_dir).
pub const CONFIG: &str = r#"
trust_domain = "example.org"
data_dir = ".tessera/server"
log_level = "debug"
"#;
