//! `tessera-server` end to end: run, bundle show, authorities, entries, restart, bad input,
//! join tokens and agents.

mod admin_roles;
mod audit;
mod authority;
mod bad_input;
mod bundle;
mod client;
mod entry;
mod federation;
mod token;
mod users;

/// A minimal config for a server in a temporary directory (relative data_dir), with its
/// agent API on a free loopback port so tests run in parallel.
pub fn config() -> String {
    config_at(tessera_tests::free_port())
}

/// The same, with the agent API on `port`.
pub fn config_at(port: u16) -> String {
    format!(
        "trust_domain = \"example.org\"\ndata_dir = \".tessera/server\"\nbind_address = \"127.0.0.1:{port}\"\nlog_level = \"debug\"\n"
    )
}
